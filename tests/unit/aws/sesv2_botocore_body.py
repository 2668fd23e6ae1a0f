#!/usr/bin/env python3
"""Prints the SES v2 SendEmail request body botocore serializes for the parameters given as JSON
on stdin (EmailTags, ConfigurationSetName etc. are what aws-ses-v2-local does not store, so the
tests compare our body with this instead)."""
import json
import sys

import botocore.session
from botocore import serialize

model = botocore.session.get_session().get_service_model("sesv2")
params = json.load(sys.stdin)
req = serialize.create_serializer("rest-json").serialize_to_request(params, model.operation_model("SendEmail"))
assert req["method"] == "POST" and req["url_path"] == "/v2/email/outbound-emails", req
sys.stdout.write(req["body"].decode("utf-8") if isinstance(req["body"], bytes) else req["body"])
