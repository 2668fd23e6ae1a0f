"""mailtrack policy rules for cfn-lint (loaded with --append-rules).

cfn-lint checks templates against the resource schemas; these rules check what
the schemas cannot: the security and correctness choices mailtrack's
deployment depends on. Each rule has its own id (E9001..E9011) so that
tests/deploy/validate.sh can prove, with one deliberately broken template per
rule, that every rule fails on the mistake it targets and on nothing else.

A value that is not a literal (a Ref to a parameter, a Sub, an If) cannot be
judged from the template alone; unless a rule says otherwise such a value is
rejected, because cfn-lint does not check values passed through parameters.
"""

from cfnlint.rules import CloudFormationLintRule, RuleMatch

_SOURCE = "deploy/policy/cfnlint_rules/mailtrack_policy.py"


def _is_true(value):
    """True only for a literal boolean true (YAML true or the string "true")."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.lower() == "true"


def _is_literal(value):
    return isinstance(value, (str, int, float, bool)) and not isinstance(value, dict)


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def _props(resource):
    props = resource.get("Properties", {})
    return props if isinstance(props, dict) else {}


def _ref_name(value):
    """The logical id a {"Ref": X} points at, else None."""
    if isinstance(value, dict) and len(value) == 1 and "Ref" in value:
        target = value["Ref"]
        return target if isinstance(target, str) else None
    return None


def _getatt(value):
    """(logical id, attribute) of a Fn::GetAtt, else None."""
    if isinstance(value, dict) and len(value) == 1 and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        if isinstance(target, list) and len(target) == 2:
            return str(target[0]), str(target[1])
        if isinstance(target, str) and "." in target:
            name, attr = target.split(".", 1)
            return name, attr
    return None


class _Rule(CloudFormationLintRule):
    source_url = _SOURCE
    tags = ["mailtrack", "policy"]

    def _resources(self, cfn, types):
        return cfn.get_resources(types).items()


class Imdsv2Required(_Rule):
    """Instance metadata v1 lets any SSRF read the role credentials."""

    id = "E9001"
    shortdesc = "IMDSv2 required"
    description = (
        "Launch templates, launch configurations and instances must set "
        "MetadataOptions.HttpTokens to 'required' (an instance may instead use "
        "a launch template of the same template that does)."
    )

    @staticmethod
    def _tokens_required(metadata_options):
        return isinstance(metadata_options, dict) and metadata_options.get("HttpTokens") == "required"

    def match(self, cfn):
        matches = []
        good_templates = set()
        for name, res in self._resources(cfn, ["AWS::EC2::LaunchTemplate"]):
            data = _props(res).get("LaunchTemplateData", {})
            if isinstance(data, dict) and self._tokens_required(data.get("MetadataOptions")):
                good_templates.add(name)
            else:
                matches.append(RuleMatch(
                    ["Resources", name, "Properties", "LaunchTemplateData"],
                    f"{name}: LaunchTemplateData.MetadataOptions.HttpTokens must be 'required' (IMDSv2)"))
        for name, res in self._resources(cfn, ["AWS::AutoScaling::LaunchConfiguration"]):
            if not self._tokens_required(_props(res).get("MetadataOptions")):
                matches.append(RuleMatch(
                    ["Resources", name, "Properties"],
                    f"{name}: MetadataOptions.HttpTokens must be 'required' (IMDSv2)"))
        for name, res in self._resources(cfn, ["AWS::EC2::Instance"]):
            props = _props(res)
            if self._tokens_required(props.get("MetadataOptions")):
                continue
            lt = props.get("LaunchTemplate", {})
            lt_ref = _ref_name(lt.get("LaunchTemplateId")) if isinstance(lt, dict) else None
            if lt_ref is not None and lt_ref in good_templates:
                continue
            matches.append(RuleMatch(
                ["Resources", name, "Properties"],
                f"{name}: instance must require IMDSv2 (MetadataOptions.HttpTokens 'required' "
                "or a launch template of this template that requires it)"))
        return matches


_ADMIN_PORTS = {22: "SSH", 3306: "MySQL", 6379: "Redis"}
_WORLD = {"0.0.0.0/0", "::/0"}


class NoWorldOpenAdminPorts(_Rule):
    """SSH, MySQL and Redis are never reachable from the whole internet."""

    id = "E9002"
    shortdesc = "No 0.0.0.0/0 on SSH, MySQL or Redis"
    description = (
        "Security group ingress from 0.0.0.0/0 or ::/0 (literal, or a parameter "
        "defaulting to it) must not cover ports 22, 3306 or 6379."
    )

    @staticmethod
    def _ports(rule):
        proto = str(rule.get("IpProtocol", "")).lower()
        if proto in ("-1", "all"):
            return list(_ADMIN_PORTS)
        if proto not in ("tcp", "6"):
            return []
        try:
            low = int(rule.get("FromPort"))
            high = int(rule.get("ToPort"))
        except (TypeError, ValueError):
            # A port from a parameter cannot be judged: assume the worst.
            return list(_ADMIN_PORTS)
        if low == -1:
            return list(_ADMIN_PORTS)
        return [p for p in _ADMIN_PORTS if low <= p <= high]

    def _world_cidr(self, cfn, value):
        if isinstance(value, str):
            return value in _WORLD
        ref = _ref_name(value)
        if ref is not None:
            param = cfn.template.get("Parameters", {}).get(ref)
            if isinstance(param, dict):
                return str(param.get("Default", "")) in _WORLD
        return False

    def _check(self, cfn, rule, path, name):
        if not isinstance(rule, dict):
            return []
        cidrs = [rule.get("CidrIp"), rule.get("CidrIpv6")]
        if not any(self._world_cidr(cfn, c) for c in cidrs if c is not None):
            return []
        return [RuleMatch(path, f"{name}: {_ADMIN_PORTS[p]} (port {p}) open to the world")
                for p in self._ports(rule)]

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, ["AWS::EC2::SecurityGroup"]):
            for i, rule in enumerate(_as_list(_props(res).get("SecurityGroupIngress"))):
                matches += self._check(cfn, rule, ["Resources", name, "Properties", "SecurityGroupIngress", i], name)
        for name, res in self._resources(cfn, ["AWS::EC2::SecurityGroupIngress"]):
            matches += self._check(cfn, _props(res), ["Resources", name, "Properties"], name)
        return matches


class RdsEncrypted(_Rule):
    id = "E9003"
    shortdesc = "RDS storage encrypted"
    description = "AWS::RDS::DBInstance and AWS::RDS::DBCluster must set StorageEncrypted: true."

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, ["AWS::RDS::DBInstance", "AWS::RDS::DBCluster"]):
            props = _props(res)
            if res.get("Type") == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in props:
                continue  # encryption is the cluster's
            if not _is_true(props.get("StorageEncrypted")):
                matches.append(RuleMatch(["Resources", name, "Properties"],
                                         f"{name}: StorageEncrypted must be literally true"))
        return matches


class SqsEncrypted(_Rule):
    id = "E9004"
    shortdesc = "SQS queues encrypted"
    description = "AWS::SQS::Queue must set SqsManagedSseEnabled: true or a KmsMasterKeyId."

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, ["AWS::SQS::Queue"]):
            props = _props(res)
            if _is_true(props.get("SqsManagedSseEnabled")) or props.get("KmsMasterKeyId"):
                continue
            matches.append(RuleMatch(["Resources", name, "Properties"],
                                     f"{name}: queue must be encrypted (SqsManagedSseEnabled: true or KmsMasterKeyId)"))
        return matches


class ElastiCacheEncrypted(_Rule):
    id = "E9005"
    shortdesc = "ElastiCache encrypted with AUTH"
    description = (
        "Redis/Valkey replication groups need AtRestEncryptionEnabled, "
        "TransitEncryptionEnabled and an AuthToken (or user groups); a bare "
        "AWS::ElastiCache::CacheCluster cannot carry AUTH and is rejected for them."
    )

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, ["AWS::ElastiCache::ReplicationGroup"]):
            props = _props(res)
            path = ["Resources", name, "Properties"]
            if not _is_true(props.get("AtRestEncryptionEnabled")):
                matches.append(RuleMatch(path, f"{name}: AtRestEncryptionEnabled must be true"))
            if not _is_true(props.get("TransitEncryptionEnabled")):
                matches.append(RuleMatch(path, f"{name}: TransitEncryptionEnabled must be true"))
            if not props.get("AuthToken") and not props.get("UserGroupIds"):
                matches.append(RuleMatch(path, f"{name}: AUTH required (AuthToken or UserGroupIds)"))
        for name, res in self._resources(cfn, ["AWS::ElastiCache::CacheCluster"]):
            if str(_props(res).get("Engine", "")).lower() in ("redis", "valkey"):
                matches.append(RuleMatch(["Resources", name, "Properties", "Engine"],
                                         f"{name}: use AWS::ElastiCache::ReplicationGroup (encryption and AUTH)"))
        return matches


class BucketHardened(_Rule):
    id = "E9006"
    shortdesc = "S3 bucket encrypted, private, TLS only"
    description = (
        "AWS::S3::Bucket must set default encryption, block all public access, "
        "and have a bucket policy in the template denying aws:SecureTransport false."
    )

    @staticmethod
    def _denies_plain_http(policy):
        doc = _props(policy).get("PolicyDocument", {})
        for stmt in _as_list(doc.get("Statement") if isinstance(doc, dict) else None):
            if not isinstance(stmt, dict) or stmt.get("Effect") != "Deny":
                continue
            cond = stmt.get("Condition", {})
            if isinstance(cond, dict):
                bool_cond = cond.get("Bool", {})
                if isinstance(bool_cond, dict) and str(bool_cond.get("aws:SecureTransport")).lower() == "false":
                    return True
        return False

    def match(self, cfn):
        matches = []
        tls_only = set()
        for _, pol in self._resources(cfn, ["AWS::S3::BucketPolicy"]):
            bucket = _ref_name(_props(pol).get("Bucket"))
            if bucket and self._denies_plain_http(pol):
                tls_only.add(bucket)
        for name, res in self._resources(cfn, ["AWS::S3::Bucket"]):
            props = _props(res)
            path = ["Resources", name, "Properties"]
            enc = props.get("BucketEncryption", {})
            rules = enc.get("ServerSideEncryptionConfiguration") if isinstance(enc, dict) else None
            if not rules or not all(
                    isinstance(r, dict) and isinstance(r.get("ServerSideEncryptionByDefault"), dict)
                    and r["ServerSideEncryptionByDefault"].get("SSEAlgorithm") for r in _as_list(rules)):
                matches.append(RuleMatch(path, f"{name}: BucketEncryption with an SSEAlgorithm is required"))
            pab = props.get("PublicAccessBlockConfiguration", {})
            keys = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
            if not isinstance(pab, dict) or not all(_is_true(pab.get(k)) for k in keys):
                matches.append(RuleMatch(path, f"{name}: all four PublicAccessBlockConfiguration flags must be true"))
            if name not in tls_only:
                matches.append(RuleMatch(path, f"{name}: needs a bucket policy denying aws:SecureTransport false"))
        return matches


_POLICY_HOLDERS = {
    "AWS::IAM::Role": "Policies",
    "AWS::IAM::User": "Policies",
    "AWS::IAM::Group": "Policies",
    "AWS::IAM::Policy": None,
    "AWS::IAM::ManagedPolicy": None,
    "AWS::IAM::RolePolicy": None,
}


class NoIamWildcard(_Rule):
    id = "E9007"
    shortdesc = "No IAM wildcard action on a wildcard resource"
    description = "An Allow statement may not combine Action '*' (or 'service:*' / NotAction) with Resource '*'."

    @staticmethod
    def _wild_action(stmt):
        if "NotAction" in stmt:
            return True
        for action in _as_list(stmt.get("Action")):
            if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                return True
        return False

    @staticmethod
    def _wild_resource(stmt):
        if "NotResource" in stmt:
            return True
        return any(r == "*" for r in _as_list(stmt.get("Resource")))

    def _documents(self, res_type, props):
        key = _POLICY_HOLDERS[res_type]
        if key is None:
            yield [], props.get("PolicyDocument")
            return
        for i, pol in enumerate(_as_list(props.get(key))):
            if isinstance(pol, dict):
                yield [key, i], pol.get("PolicyDocument")

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, list(_POLICY_HOLDERS)):
            props = _props(res)
            for sub, doc in self._documents(res["Type"], props):
                if not isinstance(doc, dict):
                    continue
                for j, stmt in enumerate(_as_list(doc.get("Statement"))):
                    if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
                        continue
                    if self._wild_action(stmt) and self._wild_resource(stmt):
                        matches.append(RuleMatch(
                            ["Resources", name, "Properties", *sub, "PolicyDocument", "Statement", j],
                            f"{name}: Allow statement with a wildcard action on a wildcard resource"))
        return matches


class QueuePolicyBySourceArn(_Rule):
    id = "E9008"
    shortdesc = "Queue policy admits only a source ARN"
    description = (
        "Every Allow statement of an SQS queue policy must carry an ArnEquals/ArnLike "
        "aws:SourceArn condition that is not a wildcard (only the events topic may send)."
    )

    @staticmethod
    def _source_arn_ok(stmt):
        cond = stmt.get("Condition")
        if not isinstance(cond, dict):
            return False
        for op in ("ArnEquals", "ArnLike"):
            block = cond.get(op)
            if isinstance(block, dict) and "aws:SourceArn" in block:
                values = _as_list(block["aws:SourceArn"])
                if values and not any(v in ("*", "arn:*") for v in values):
                    return True
        return False

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, ["AWS::SQS::QueuePolicy", "AWS::SQS::QueueInlinePolicy"]):
            doc = _props(res).get("PolicyDocument", {})
            if not isinstance(doc, dict):
                continue
            for j, stmt in enumerate(_as_list(doc.get("Statement"))):
                if isinstance(stmt, dict) and stmt.get("Effect") == "Allow" and not self._source_arn_ok(stmt):
                    matches.append(RuleMatch(
                        ["Resources", name, "Properties", "PolicyDocument", "Statement", j],
                        f"{name}: Allow statement without an aws:SourceArn (ArnEquals/ArnLike) condition"))
        return matches


class SubscriptionToQueueArn(_Rule):
    id = "E9009"
    shortdesc = "SNS subscriptions deliver to a queue ARN"
    description = (
        "An AWS::SNS::Subscription is either an operator email subscription or "
        "Protocol sqs with Endpoint the ARN of a queue (GetAtt Queue.Arn of an "
        "AWS::SQS::Queue in the template, or a literal arn:...:sqs: ARN)."
    )

    def _endpoint_ok(self, cfn, endpoint):
        if isinstance(endpoint, str):
            parts = endpoint.split(":")
            return len(parts) == 6 and parts[0] == "arn" and parts[2] == "sqs"
        att = _getatt(endpoint)
        if att is not None:
            target = cfn.template.get("Resources", {}).get(att[0], {})
            return att[1] == "Arn" and isinstance(target, dict) and target.get("Type") == "AWS::SQS::Queue"
        return False

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, ["AWS::SNS::Subscription"]):
            props = _props(res)
            protocol = props.get("Protocol")
            if protocol in ("email", "email-json"):
                continue
            path = ["Resources", name, "Properties"]
            if protocol != "sqs":
                matches.append(RuleMatch(path, f"{name}: Protocol must be sqs (or email for operators), not {protocol!r}"))
            elif not self._endpoint_ok(cfn, props.get("Endpoint")):
                matches.append(RuleMatch(path + ["Endpoint"],
                                         f"{name}: Endpoint must be a queue ARN (GetAtt <Queue>.Arn; Ref gives the URL)"))
        return matches


SES_EVENT_TYPES = (
    "SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY",
    "OPEN", "CLICK", "RENDERING_FAILURE", "DELIVERY_DELAY", "SUBSCRIPTION",
)


class SesEventTypes(_Rule):
    id = "E9010"
    shortdesc = "SES event types spelled as the SESv2 API expects, all ten"
    description = (
        "MatchingEventTypes must list each of " + ", ".join(SES_EVENT_TYPES) +
        " exactly once (mailtrack tracks every message's fate)."
    )

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, ["AWS::SES::ConfigurationSetEventDestination"]):
            dest = _props(res).get("EventDestination", {})
            types = dest.get("MatchingEventTypes") if isinstance(dest, dict) else None
            path = ["Resources", name, "Properties", "EventDestination", "MatchingEventTypes"]
            if not isinstance(types, list):
                matches.append(RuleMatch(path, f"{name}: MatchingEventTypes must be a literal list"))
                continue
            for i, t in enumerate(types):
                if t not in SES_EVENT_TYPES:
                    matches.append(RuleMatch(path + [i], f"{name}: unknown SES event type {t!r}; expected one of {', '.join(SES_EVENT_TYPES)}"))
            seen = [t for t in types if isinstance(t, str)]
            missing = [t for t in SES_EVENT_TYPES if t not in seen]
            if missing:
                matches.append(RuleMatch(path, f"{name}: missing SES event types: {', '.join(missing)}"))
            dupes = sorted({t for t in seen if seen.count(t) > 1})
            if dupes:
                matches.append(RuleMatch(path, f"{name}: duplicated SES event types: {', '.join(dupes)}"))
        return matches


class EngineVersionLiteral(_Rule):
    id = "E9011"
    shortdesc = "Database engine and version are literals"
    description = (
        "Engine and EngineVersion of RDS and ElastiCache resources must be literal "
        "strings, so cfn-lint's own checks of offered and deprecated versions see them."
    )

    TYPES = ["AWS::RDS::DBInstance", "AWS::RDS::DBCluster",
             "AWS::ElastiCache::ReplicationGroup", "AWS::ElastiCache::CacheCluster"]

    def match(self, cfn):
        matches = []
        for name, res in self._resources(cfn, self.TYPES):
            props = _props(res)
            if res["Type"] == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in props:
                continue
            for key in ("Engine", "EngineVersion"):
                value = props.get(key)
                if value is None or not _is_literal(value):
                    matches.append(RuleMatch(["Resources", name, "Properties", key] if value is not None
                                             else ["Resources", name, "Properties"],
                                             f"{name}: {key} must be a literal string"))
        return matches
