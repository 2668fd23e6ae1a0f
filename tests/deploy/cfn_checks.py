"""Template checks for tests/deploy/validate.sh that need a YAML/JSON parser.

Subcommands (each exits non-zero with a message on failure):
  render-userdata TEMPLATE OUTDIR
      Renders the launch template's user data (Fn::Base64 of Fn::Sub) with
      sample parameter values, as CloudFormation would, and writes
      OUTDIR/userdata.sh, the scripts it writes by heredoc (OUTDIR/<NAME>.sh)
      and the config it renders (OUTDIR/mailtrack.toml).
  check-config FILE [--rendered]
      Parses a mailtrack.toml and checks it has the contract's sections and
      keys with the right types; --rendered also requires the AWS values to be
      filled in (mysql backend, queue URL, topic ARNs, secret ARNs).
  check-params ROOT_TEMPLATE PARAMS_JSON
      The deploy parameters file names only root-stack parameters and gives
      every parameter without a default (except those deploy.sh supplies).
  rule-ids RULES_DIR
      Prints the ids of the policy rules defined in RULES_DIR, one a line.
"""

import json
import pathlib
import re
import sys
import tomllib

from cfnlint.decode import decode


def _load(path):
    template, matches = decode(str(path))
    if matches or template is None:
        sys.exit(f"{path}: cannot parse: {matches}")
    return template


SAMPLE = {
    "AWS::Region": "eu-west-1",
    "AWS::StackName": "mailtrack-AppInstanceStack-1ABCDEF",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "ArtifactsBucketName": "mailtrack-artifacts-artifactsbucket-1abcdef",
    "PackageKey": "packages/mailtrack_current_amd64.deb",
    "DbEndpointAddress": "mailtrack-db.abcdefghijkl.eu-west-1.rds.amazonaws.com",
    "DbEndpointPort": "3306",
    "DbName": "mailtrack",
    "DbUser": "mailtrack_admin",
    "DbSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0123-AbCdEf",
    "CacheEndpointAddress": "master.mailtrack-cache.abcdef.euw1.cache.amazonaws.com",
    "CacheEndpointPort": "6379",
    "CacheAuthSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:CacheAuthToken-AbCdEf",
    "EventsQueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/mailtrack-EventsQueue-ABC",
    "DeadLetterQueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/mailtrack-EventsDeadLetterQueue-ABC",
    "ConfigurationSetName": "mailtrack-ConfigurationSet-ABC",
    "FromAddress": "noreply@example.com",
    "EventsTopicArn": "arn:aws:sns:eu-west-1:123456789012:mailtrack-EventsTopic-ABC",
    "AlertsTopicArn": "arn:aws:sns:eu-west-1:123456789012:mailtrack-AlertsTopic-ABC",
    "WorkerConcurrency": "4",
    "LogLevel": "info",
    "ExtraVolumeSize": "20",
}


def _sub(text, variables):
    """Fn::Sub semantics: ${Name} replaced, ${!Literal} becomes ${Literal}."""
    unresolved = []

    def repl(m):
        name = m.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return str(variables[name])
        unresolved.append(name)
        return m.group(0)

    out = re.sub(r"\$\{([^}]+)\}", repl, text)
    return out, unresolved


def render_userdata(template_path, outdir):
    template = _load(template_path)
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    found = 0
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::EC2::LaunchTemplate":
            continue
        user_data = res["Properties"]["LaunchTemplateData"].get("UserData")
        if not isinstance(user_data, dict) or "Fn::Base64" not in user_data:
            sys.exit(f"{name}: UserData is not Fn::Base64")
        inner = user_data["Fn::Base64"]
        if isinstance(inner, dict) and "Fn::Sub" in inner:
            inner = inner["Fn::Sub"]
        if not isinstance(inner, str):
            sys.exit(f"{name}: UserData must be Fn::Base64 of a Fn::Sub string")
        params = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
        variables = {k: v for k, v in params.items() if v is not None}
        variables.update(SAMPLE)
        rendered, unresolved = _sub(inner, variables)
        if unresolved:
            sys.exit(f"{name}: user data references unknown names: {', '.join(sorted(set(unresolved)))}")
        (outdir / "userdata.sh").write_text(rendered)
        found += 1
        # Files the script writes with quoted heredocs: `cat >PATH <<'TAG'` ... TAG
        for m in re.finditer(r"cat >(\S+) <<'(\w+)'\n(.*?)\n\2\n", rendered, re.S):
            path, tag, body = m.groups()
            if path.endswith((".toml", ".toml.rendered")):
                (outdir / "mailtrack.toml").write_text(body + "\n")
            elif body.startswith("#!"):
                (outdir / f"{tag.lower()}.sh").write_text(body + "\n")
    if found != 1:
        sys.exit(f"{template_path}: expected one launch template with user data, found {found}")
    if not (outdir / "mailtrack.toml").exists():
        sys.exit("user data renders no mailtrack.toml")


CONTRACT = {
    "aws": {"region": str, "endpoint_url": str},
    "store": {"backend": str, "sqlite_path": str, "mysql_url": str, "mysql_secret_arn": str},
    "redis": {"url": str, "auth_secret_arn": str},
    "worker": {"queue_urls": list, "dlq_url": str, "concurrency": int},
    "ses": {"configuration_set": str, "from": str},
    "sns": {"events_topic_arn": str, "alerts_topic_arn": str},
    "log": {"level": str, "format": str},
}
OPTIONAL = {"aws": {"sqs_endpoint_url", "sns_endpoint_url", "sesv2_endpoint_url"}}
# Sections a config may carry but need not (defaults apply when absent).
OPTIONAL_SECTIONS = {
    "suppression": {"soft_bounce_limit": int, "soft_bounce_window_sends": int, "soft_bounce_expiry_days": int},
    "sending": {"sandbox_events": bool, "sandbox_engagement": bool, "bulk_concurrency": int},
    # mailtrack serve (the unit's command)
    "server": {"listen_address": str, "port": int, "max_body_bytes": int, "max_header_bytes": int,
               "read_timeout_ms": int, "idle_timeout_ms": int, "write_timeout_ms": int, "max_connections": int,
               "io_threads": int, "handler_threads": int, "tls_certificate_file": str,
               "tls_private_key_file": str, "access_log": bool, "shutdown_timeout_s": int, "worker": bool},
}


def check_config(path, rendered):
    with open(path, "rb") as f:
        try:
            config = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            sys.exit(f"{path}: not TOML: {e}")
    errors = []
    for section, keys in CONTRACT.items():
        table = config.get(section)
        if not isinstance(table, dict):
            errors.append(f"missing [{section}]")
            continue
        for key, typ in keys.items():
            if key not in table:
                errors.append(f"missing {section}.{key}")
            elif not isinstance(table[key], typ):
                errors.append(f"{section}.{key} should be {typ.__name__}")
        extra = set(table) - set(keys) - OPTIONAL.get(section, set())
        if extra:
            errors.append(f"unknown keys in [{section}]: {', '.join(sorted(extra))}")
    for section, keys in OPTIONAL_SECTIONS.items():
        table = config.get(section, {})
        for key, value in table.items():
            if key not in keys:
                errors.append(f"unknown key {section}.{key}")
            elif not isinstance(value, keys[key]):
                errors.append(f"{section}.{key} should be {keys[key].__name__}")
    extra_sections = set(config) - set(CONTRACT) - set(OPTIONAL_SECTIONS)
    if extra_sections:
        errors.append(f"unknown sections: {', '.join(sorted(extra_sections))}")
    if not errors:
        if config["store"]["backend"] not in ("sqlite", "mysql"):
            errors.append("store.backend must be sqlite or mysql")
        if config["log"]["level"] not in ("trace", "debug", "info", "warn", "error"):
            errors.append("log.level unknown")
        if rendered:
            want = {
                "store.backend == mysql": config["store"]["backend"] == "mysql",
                "store.mysql_url is mysql://...VERIFY_IDENTITY": config["store"]["mysql_url"].startswith("mysql://")
                and "ssl-mode=VERIFY_IDENTITY" in config["store"]["mysql_url"],
                "store.mysql_secret_arn is a secret ARN": config["store"]["mysql_secret_arn"].startswith("arn:aws:secretsmanager:"),
                "redis.url is rediss:// (TLS)": config["redis"]["url"].startswith("rediss://"),
                "redis.auth_secret_arn is a secret ARN": config["redis"]["auth_secret_arn"].startswith("arn:aws:secretsmanager:"),
                "worker.queue_urls has the queue URL": len(config["worker"]["queue_urls"]) == 1
                and config["worker"]["queue_urls"][0].startswith("https://sqs."),
                "worker.dlq_url set": config["worker"]["dlq_url"].startswith("https://sqs."),
                "sns.alerts_topic_arn set": config["sns"]["alerts_topic_arn"].startswith("arn:aws:sns:"),
                "sns.events_topic_arn set": config["sns"]["events_topic_arn"].startswith("arn:aws:sns:"),
                "ses.configuration_set set": bool(config["ses"]["configuration_set"]),
                "no ${...} left": "${" not in pathlib.Path(path).read_text(),
            }
            errors += [f"rendered config: {k}" for k, v in want.items() if not v]
    if errors:
        sys.exit(f"{path}: " + "; ".join(errors))


SUPPLIED_BY_DEPLOY = {"ArtifactsBucketName", "PackageKey"}


def check_params(root_path, params_path):
    root = _load(root_path)
    declared = root.get("Parameters", {})
    data = json.loads(pathlib.Path(params_path).read_text())
    for key in ("StackName", "Region", "Parameters"):
        if key not in data:
            sys.exit(f"{params_path}: missing top-level {key}")
    given = data["Parameters"]
    unknown = sorted(set(given) - set(declared))
    if unknown:
        sys.exit(f"{params_path}: not parameters of the root stack: {', '.join(unknown)}")
    supplied = sorted(set(given) & SUPPLIED_BY_DEPLOY)
    if supplied:
        sys.exit(f"{params_path}: deploy.sh supplies these, remove them: {', '.join(supplied)}")
    missing = sorted(k for k, v in declared.items()
                     if "Default" not in v and k not in given and k not in SUPPLIED_BY_DEPLOY)
    if missing:
        sys.exit(f"{params_path}: required root parameters missing: {', '.join(missing)}")
    for k, v in given.items():
        if not isinstance(v, str):
            sys.exit(f"{params_path}: {k} must be a string")
        allowed = declared[k].get("AllowedValues")
        if allowed and v not in [str(a) for a in allowed]:
            sys.exit(f"{params_path}: {k}={v!r} not in {allowed}")
        pattern = declared[k].get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, v):
            sys.exit(f"{params_path}: {k}={v!r} does not match {pattern}")


def rule_ids(rules_dir):
    ids = []
    for path in sorted(pathlib.Path(rules_dir).glob("*.py")):
        ids += re.findall(r'^\s+id = "(E9\d{3})"', path.read_text(), re.M)
    print("\n".join(sorted(ids)))


def main(argv):
    if len(argv) >= 3 and argv[0] == "render-userdata":
        render_userdata(argv[1], argv[2])
    elif len(argv) >= 2 and argv[0] == "check-config":
        check_config(argv[1], "--rendered" in argv[2:])
    elif len(argv) == 3 and argv[0] == "check-params":
        check_params(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "rule-ids":
        rule_ids(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
