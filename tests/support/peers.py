#!/usr/bin/env python3
"""Starts AWS emulators on free loopback ports, runs a command, then stops them.

  peers.py [--fauxqs] [--moto] [--ses] [--redis] [--mariadb] -- COMMAND ARGS...

Each started peer's endpoint is passed to COMMAND in the environment:
  MAILTRACK_TEST_FAUXQS_URL  fauxqs (SQS+SNS), from tests/peers/node_modules (run `npm ci` there)
  MAILTRACK_TEST_MOTO_URL    moto server (SQS+SNS+SES), `python3 -m moto.server`
  MAILTRACK_TEST_SES_URL     aws-ses-v2-local (SES v2 with a /store API)
  MAILTRACK_TEST_REDIS_URL   redis-server (Debian's), redis://127.0.0.1:PORT/0, no persistence
  MAILTRACK_TEST_REDIS_TLS_URL   the same server's TLS port, rediss://127.0.0.1:PORT/0, whose
                             certificate (for IP 127.0.0.1) MAILTRACK_TEST_REDIS_TLS_CA signed;
                             MAILTRACK_TEST_REDIS_OTHER_CA is an unrelated CA (to be refused)
A test that must stop and restart Redis starts its own with start_redis() / RedisServer below.
  MAILTRACK_TEST_MYSQL_URL   a MariaDB server (Debian mariadb-server) on a throwaway data directory:
                             mysql://mailtrack@127.0.0.1:PORT/ (append a database name; the user may
                             create any), password in MAILTRACK_TEST_MYSQL_PASSWORD;
                             MAILTRACK_TEST_MARIADB_CMD is the server's command line (JSON list) and
                             MAILTRACK_TEST_MARIADB_PIDFILE its pid file, for tests that stop and restart it;
                             MAILTRACK_PEERS_MARIADB_ARGS adds server options (benchmarks).
                             The server speaks TLS with a certificate for IP 127.0.0.1 signed by
                             MAILTRACK_TEST_MYSQL_CA; MAILTRACK_TEST_MYSQL_OTHER_CA is an unrelated CA
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
SES_ACCOUNT = json.dumps({
    "DedicatedIpAutoWarmupEnabled": False, "EnforcementStatus": "HEALTHY", "ProductionAccessEnabled": True,
    "SendingEnabled": True, "SendQuota": {"Max24HourSend": 50000, "MaxSendRate": 14, "SentLast24Hours": 12},
    "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
    "Details": {"AdditionalContactEmailAddresses": [], "ContactLanguage": "EN", "MailType": "TRANSACTIONAL",
                "ReviewDetails": {"CaseId": "case-1", "Status": "GRANTED"}, "UseCaseDescription": "tests",
                "WebsiteURL": "https://example.com"}})
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
    cmd = [server, "--no-defaults", "--datadir=" + data, "--socket=" + sock, "--port=%d" % port,
           "--bind-address=127.0.0.1", "--user=root", "--pid-file=" + pidfile, "--skip-name-resolve",
           "--tmpdir=" + server_tmp,
           "--innodb-buffer-pool-size=128M", "--innodb-log-file-size=64M", "--innodb-flush-log-at-trx-commit=2",
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
                            "GRANT ALL ON *.* TO 'mailtrack'@'127.0.0.1';" % MARIADB_PASSWORD],
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


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    wanted, command = argv[:split], argv[split + 1:]
    tmp = tempfile.mkdtemp(prefix="mailtrack-peers-")
    procs = []
    env = dict(os.environ)
    # Nothing may reach real AWS: no real credentials, no IMDS, no shared config.
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        env.pop(k, None)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none"), "AWS_CONFIG_FILE": os.path.join(tmp, "none"),
                "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost"})
    try:
        def start(name, args, extra_env, health):
            log = open(os.path.join(tmp, name + ".log"), "wb")
            p = subprocess.Popen(args, cwd=tmp, env={**env, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
            procs.append((name, p))
            wait_ready(health, p, name)
        if "--fauxqs" in wanted:
            port = free_port()
            start("fauxqs", ["node", node_bin("fauxqs")],
                  {"FAUXQS_PORT": str(port), "FAUXQS_LOGGER": "false", "FAUXQS_HOST": "localhost"},
                  "http://127.0.0.1:%d/health" % port)
            env["MAILTRACK_TEST_FAUXQS_URL"] = "http://127.0.0.1:%d" % port
        if "--moto" in wanted:
            port = free_port()
            start("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], {},
                  "http://127.0.0.1:%d/moto-api/" % port)
            env["MAILTRACK_TEST_MOTO_URL"] = "http://127.0.0.1:%d" % port
        if "--ses" in wanted:
            port = free_port()
            start("aws-ses-v2-local", ["node", node_bin("aws-ses-v2-local"), "--host", "127.0.0.1", "--port", str(port)],
                  {"AWS_SES_ACCOUNT": SES_ACCOUNT}, "http://127.0.0.1:%d/health-check" % port)
            env["MAILTRACK_TEST_SES_URL"] = "http://127.0.0.1:%d" % port
        if "--redis" in wanted:
            server = RedisServer(os.path.join(tmp, "redis"), tls=True).start()
            procs.append(("redis", server.proc))
            env["MAILTRACK_TEST_REDIS_URL"] = server.url
            env["MAILTRACK_TEST_REDIS_TLS_URL"] = server.tls_url
            env["MAILTRACK_TEST_REDIS_TLS_CA"] = server.ca_file
            env["MAILTRACK_TEST_REDIS_OTHER_CA"] = server.other_ca_file
        if "--mariadb" in wanted:
            env.update(start_mariadb(tmp, lambda p: procs.append(("mariadb", p))))
        return subprocess.call(command, env=env)
    except RuntimeError as e:
        print("peers.py: %s" % e, file=sys.stderr)
        for name, _ in procs:
            logf = os.path.join(tmp, name + ".log")
            if os.path.exists(logf):
                sys.stderr.write(open(logf, errors="replace").read()[-2000:])
        return 1
    finally:
        for _, p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        # A test may have restarted the server; stop whatever the pid file names now.
        pidfile = env.get("MAILTRACK_TEST_MARIADB_PIDFILE")
        if pidfile and os.path.exists(pidfile):
            try:
                pid = int(open(pidfile).read().strip())
                os.kill(pid, signal.SIGKILL)
            except (ValueError, ProcessLookupError, OSError):
                pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
