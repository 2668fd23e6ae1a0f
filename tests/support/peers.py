#!/usr/bin/env python3
"""Starts AWS emulators on free loopback ports, runs a command, then stops them.

  peers.py [--fauxqs] [--moto] [--ses] [--redis] -- COMMAND ARGS...

Each started peer's endpoint is passed to COMMAND in the environment:
  MAILTRACK_TEST_FAUXQS_URL  fauxqs (SQS+SNS), from tests/peers/node_modules (run `npm ci` there)
  MAILTRACK_TEST_MOTO_URL    moto server (SQS+SNS+SES), `python3 -m moto.server`
  MAILTRACK_TEST_SES_URL     aws-ses-v2-local (SES v2 with a /store API)
  MAILTRACK_TEST_REDIS_URL   redis-server (Debian's), redis://127.0.0.1:PORT/0, no persistence
  MAILTRACK_TEST_REDIS_TLS_URL   the same server's TLS port, rediss://127.0.0.1:PORT/0, whose
                             certificate (for IP 127.0.0.1) MAILTRACK_TEST_REDIS_TLS_CA signed;
                             MAILTRACK_TEST_REDIS_OTHER_CA is an unrelated CA (to be refused)
A test that must stop and restart Redis starts its own with start_redis() / RedisServer below.
Peers bind 127.0.0.1 only and get their own temp dir; a peer that does not become ready in 30 s
fails the run (no silent skip). Exit status is COMMAND's.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# What aws-ses-v2-local answers to GetAccount (it needs one; shape per the SES v2 model).
SES_ACCOUNT_FIELDS = {
    "DedicatedIpAutoWarmupEnabled": False, "EnforcementStatus": "HEALTHY", "ProductionAccessEnabled": True,
    "SendingEnabled": True, "SendQuota": {"Max24HourSend": 50000, "MaxSendRate": 14, "SentLast24Hours": 12},
    "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
    "Details": {"AdditionalContactEmailAddresses": [], "ContactLanguage": "EN", "MailType": "TRANSACTIONAL",
                "ReviewDetails": {"CaseId": "case-1", "Status": "GRANTED"}, "UseCaseDescription": "tests",
                "WebsiteURL": "https://example.com"}}
SES_ACCOUNT = json.dumps(SES_ACCOUNT_FIELDS)
HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(os.path.dirname(HERE), "peers")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, name, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with status %s before becoming ready" % (name, proc.returncode))
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("%s not ready at %s after %.0f s" % (name, url, timeout))


def redis_ping(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def make_ca(directory, name):
    """A throwaway CA (EC P-256) with openssl(1): returns (cert path, key path)."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + name],
                   check=True, capture_output=True)
    return cert, key


class RedisServer:
    """A redis-server on 127.0.0.1 with its own directory and no persistence; stop() and start()
    again on the same port (a restarted Redis has lost its data, as an unpersisted one would).
    With tls=True it also listens with TLS on tls_port, its certificate (for IP 127.0.0.1) signed
    by a throwaway CA at ca_file."""

    def __init__(self, directory, port=None, tls=False):
        self.directory = directory
        self.port = port or free_port()
        self.url = "redis://127.0.0.1:%d/0" % self.port
        self.proc = None
        self.tls_args = []
        if tls:
            os.makedirs(directory, exist_ok=True)
            self.tls_port = free_port()
            self.tls_url = "rediss://127.0.0.1:%d/0" % self.tls_port
            self.ca_file, ca_key = make_ca(directory, "mailtrack-test-ca")
            self.other_ca_file, _ = make_ca(directory, "unrelated-ca")
            key, csr, cert = (os.path.join(directory, n) for n in ("server.key", "server.csr", "server.pem"))
            ext = os.path.join(directory, "server.ext")
            with open(ext, "w") as f:
                f.write("subjectAltName=IP:127.0.0.1\n")
            subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
            subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key,
                            "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
                           check=True, capture_output=True)
            self.tls_args = ["--tls-port", str(self.tls_port), "--tls-cert-file", cert, "--tls-key-file", key,
                             "--tls-ca-cert-file", self.ca_file, "--tls-auth-clients", "no"]

    def start(self, timeout=30.0):
        os.makedirs(self.directory, exist_ok=True)
        log = open(os.path.join(self.directory, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", self.directory, "--save", "", "--appendonly", "no", "--protected-mode", "yes",
             *self.tls_args],
            cwd=self.directory, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()  # the child has its own descriptor
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with status %s" % self.proc.returncode)
            if redis_ping(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server not ready on port %d after %.0f s" % (self.port, timeout))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # an outage, not a shutdown
            self.proc.wait(timeout=10)
        self.proc = None


def node_bin(package):
    path = os.path.join(PEERS_DIR, "node_modules", package, "dist", "cli.js")
    if not os.path.exists(path):
        raise RuntimeError("%s is not installed: run `npm ci` in %s" % (package, PEERS_DIR))
    return path


MARIADB_PASSWORD = "mailtrack-test-password"


def start_mariadb(tmp, start):
    """Initializes a data directory and starts mariadbd on a free loopback port; returns env vars."""
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    server = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    client = shutil.which("mariadb") or shutil.which("mysql")
    if install is None or not os.path.exists(server) or client is None:
        raise RuntimeError("mariadb-server is not installed (scripts/apt-packages.d/mysql.txt)")
    data = os.path.join(tmp, "mariadb-data")
    sock = os.path.join(tmp, "mariadb.sock")
    pidfile = os.path.join(tmp, "mariadb.pid")
    # A temp dir of its own: servers bootstrapping in parallel must not share /tmp's temp tables.
    server_tmp = os.path.join(tmp, "mariadb-tmp")
    os.makedirs(server_tmp)
    r = subprocess.run([install, "--no-defaults", "--datadir=" + data, "--user=root", "--skip-test-db",
                        "--auth-root-authentication-method=socket", "--tmpdir=" + server_tmp],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError("mariadb-install-db failed: %s" % r.stdout.decode(errors="replace")[-2000:])
    tls = make_tls_files(tmp)
    port = free_port()
    # Tests only: commits are flushed to the OS, not fsynced (bench/ measures with the default 1).
    # The binary log is on, as on RDS with backups, so the store's check of sync_binlog is
    # tested; MariaDB's default sync_binlog=0 leaves it unsynced.
    cmd = [server, "--no-defaults", "--datadir=" + data, "--socket=" + sock, "--port=%d" % port,
           "--bind-address=127.0.0.1", "--user=root", "--pid-file=" + pidfile, "--skip-name-resolve",
           "--tmpdir=" + server_tmp,
           "--innodb-buffer-pool-size=128M", "--innodb-log-file-size=64M", "--innodb-flush-log-at-trx-commit=2",
           "--log-bin=mariadb-bin",
           "--max-connections=300", "--innodb-lock-wait-timeout=10", "--log-error=" + os.path.join(tmp, "mariadb.err")]
    cmd += ["--ssl-ca=" + tls["ca"], "--ssl-cert=" + tls["cert"], "--ssl-key=" + tls["key"]]
    # Benchmarks override server options (later ones win), e.g. --innodb-flush-log-at-trx-commit=1.
    cmd += os.environ.get("MAILTRACK_PEERS_MARIADB_ARGS", "").split()
    log = open(os.path.join(tmp, "mariadb.log"), "wb")
    p = subprocess.Popen(cmd, cwd=tmp, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    start(p)
    deadline = time.time() + 30
    while True:
        if p.poll() is not None:
            raise RuntimeError("mariadbd exited with status %s: %s" % (
                p.returncode, open(os.path.join(tmp, "mariadb.err"), errors="replace").read()[-2000:]))
        r = subprocess.run([client, "--no-defaults", "-S", sock, "-uroot", "-e",
                            "CREATE USER IF NOT EXISTS 'mailtrack'@'127.0.0.1' IDENTIFIED BY '%s'; "
                            "GRANT ALL ON *.* TO 'mailtrack'@'127.0.0.1' WITH GRANT OPTION;" % MARIADB_PASSWORD],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode == 0:
            break
        if time.time() > deadline:
            raise RuntimeError("mariadbd not ready after 30 s: %s" % r.stdout.decode(errors="replace"))
        time.sleep(0.2)
    return {"MAILTRACK_TEST_MYSQL_URL": "mysql://mailtrack@127.0.0.1:%d/" % port,
            "MAILTRACK_TEST_MYSQL_PASSWORD": MARIADB_PASSWORD,
            "MAILTRACK_TEST_MARIADB_CMD": json.dumps(cmd), "MAILTRACK_TEST_MARIADB_PIDFILE": pidfile,
            "MAILTRACK_TEST_MYSQL_CA": tls["ca"], "MAILTRACK_TEST_MYSQL_OTHER_CA": tls["other_ca"]}


def make_tls_files(tmp):
    """A throwaway CA and a server certificate for IP 127.0.0.1 (no DNS name), plus an unrelated CA."""
    d = os.path.join(tmp, "tls")
    os.makedirs(d)
    p = lambda name: os.path.join(d, name)

    def openssl(*args):
        r = subprocess.run(["openssl", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (args[0], r.stdout.decode(errors="replace")))
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mailtrack test %s" % ca,
                "-keyout", p(ca + ".key"), "-out", p(ca + ".pem"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", p("server.key"),
            "-out", p("server.csr"))
    with open(p("ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
            "-days", "2", "-extfile", p("ext.cnf"), "-out", p("server.pem"))
    return {"ca": p("ca.pem"), "other_ca": p("other-ca.pem"), "cert": p("server.pem"), "key": p("server.key")}


def peer_environment(tmp):
    """The environment peers and the programs talking to them run in: dummy credentials, no shared
    config, no IMDS, nothing that could reach real AWS."""
    env = dict(os.environ)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        env.pop(k, None)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none"), "AWS_CONFIG_FILE": os.path.join(tmp, "none"),
                "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost"})
    return env


class Peers:
    """Starts the wanted peers ("fauxqs", "moto", "ses", "redis", "mariadb") on loopback; `env` then carries their URLs
    (MAILTRACK_TEST_*_URL). Raises RuntimeError (with the peer's log tail) when one does not come up.
    `ports` may fix a peer's port (a taken port is an error naming it); otherwise a free one is used."""

    def __init__(self, wanted, tmp, ports=None, ses_max_send_rate=None):
        self.wanted, self.tmp, self.ports = wanted, tmp, ports or {}
        account = json.loads(SES_ACCOUNT)
        if ses_max_send_rate:
            account["SendQuota"]["MaxSendRate"] = ses_max_send_rate
        self.ses_account = json.dumps(account)
        self.procs = []
        self.env = peer_environment(tmp)
        self.urls = {}

    def _port(self, name):
        port = self.ports.get(name)
        if not port:
            return free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError as e:
                raise RuntimeError("%s: port %d on 127.0.0.1 is taken (%s); pick another" % (name, port, e))
        return port

    def _start(self, name, args, extra_env, health):
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        p = subprocess.Popen(args, cwd=self.tmp, env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append((name, p))
        try:
            wait_ready(health, p, name)
        except RuntimeError as e:
            logf = os.path.join(self.tmp, name + ".log")
            tail = open(logf, errors="replace").read()[-2000:] if os.path.exists(logf) else ""
            raise RuntimeError("%s\n%s" % (e, tail))

    def start(self):
        if "fauxqs" in self.wanted:
            port = self._port("fauxqs")
            # Through our launcher: fauxqs's own command line listens on 0.0.0.0 and logs
            # every request.
            node_bin("fauxqs")  # says so if it is not installed
            self._start("fauxqs", ["node", os.path.join(PEERS_DIR, "fauxqs-loopback.mjs")],
                        {"FAUXQS_PORT": str(port), "FAUXQS_LOGGER": "false", "FAUXQS_HOST": "localhost"},
                        "http://127.0.0.1:%d/health" % port)
            self.urls["fauxqs"] = self.env["MAILTRACK_TEST_FAUXQS_URL"] = "http://127.0.0.1:%d" % port
        if "moto" in self.wanted:
            port = self._port("moto")
            self._start("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], {},
                        "http://127.0.0.1:%d/moto-api/" % port)
            self.urls["moto"] = self.env["MAILTRACK_TEST_MOTO_URL"] = "http://127.0.0.1:%d" % port
        if "ses" in self.wanted:
            port = self._port("ses")
            self._start("aws-ses-v2-local",
                        ["node", node_bin("aws-ses-v2-local"), "--host", "127.0.0.1", "--port", str(port)],
                        {"AWS_SES_ACCOUNT": self.ses_account}, "http://127.0.0.1:%d/health-check" % port)
            self.urls["ses"] = self.env["MAILTRACK_TEST_SES_URL"] = "http://127.0.0.1:%d" % port
        if "redis" in self.wanted:
            server = RedisServer(os.path.join(self.tmp, "redis"), tls=True).start()
            self.procs.append(("redis", server.proc))
            self.env["MAILTRACK_TEST_REDIS_URL"] = server.url
            self.env["MAILTRACK_TEST_REDIS_TLS_URL"] = server.tls_url
            self.env["MAILTRACK_TEST_REDIS_TLS_CA"] = server.ca_file
            self.env["MAILTRACK_TEST_REDIS_OTHER_CA"] = server.other_ca_file
        if "mariadb" in self.wanted:
            self.env.update(start_mariadb(self.tmp, lambda p: self.procs.append(("mariadb", p))))
        return self.env

    def pids(self):
        return [p.pid for _, p in self.procs]

    def stop(self):
        for _, p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.procs = []
        # A test may have restarted MariaDB; stop whatever its pid file names now.
        pidfile = self.env.get("MAILTRACK_TEST_MARIADB_PIDFILE")
        if pidfile and os.path.exists(pidfile):
            try:
                with open(pidfile) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
            except (ValueError, ProcessLookupError, OSError):
                pass


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    wanted, command = argv[:split], argv[split + 1:]
    tmp = tempfile.mkdtemp(prefix="mailtrack-peers-")
    peers = Peers({w.lstrip("-") for w in wanted}, tmp)
    try:
        env = peers.start()
        return subprocess.call(command, env=env)
    except RuntimeError as e:
        print("peers.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        peers.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
