"""The moto server used by Berth's integration tests, with fixes for the rolling-update path.

Same command line as `moto_server` (for example `-H 127.0.0.1 -p 0`). Before starting the
server it patches seven bugs of moto 5.2.5 (the version pinned by `scripts/install-test-deps`);
each patch checks that the code it replaces is still there and fails loudly otherwise, so a
moto upgrade cannot silently drop a fix:

1. CreateLaunchTemplateVersion stores `UserData` as a plain string (a later ASG launch from
   that version then fails with HTTP 500) and ignores `SourceVersion`.
2. ASG launches use the launch template's default version instead of the group's version.
3. Each ASG instance reports the template's current default version instead of the version it
   was launched from.
4. CreateAutoScalingGroup with the name of an existing group replaces it (its instances keep
   running, orphaned) where AWS answers `AlreadyExists`: a retried create made a second set
   of instances.
5. The instance metadata service's IMDSv2 token answer lacks the
   `X-aws-ec2-metadata-token-ttl-seconds` header that EC2 sends and the AWS SDKs require, so
   no SDK client could read the emulated metadata.
6. CreateLoadBalancer (ELBv2) with the name of an existing load balancer makes a second one
   of that name where AWS answers with the existing one (same settings) or
   `DuplicateLoadBalancerName`: a create retried after a lost answer made a twin.
7. CreateTargetGroup with the name of an existing target group answers
   `DuplicateTargetGroupName` even when the settings are the same, where AWS answers with the
   existing group: a create retried after a lost answer failed.

With `BERTH_MOTO_EXIT_ON_STDIN_EOF=1` the server exits when its standard input closes, so a
test process that dies without cleaning up does not leave a server behind.
"""

import copy
import functools
import os
import sys
import threading

import moto

PINNED_MOTO_VERSION = "5.2.5"

if moto.__version__ != PINNED_MOTO_VERSION:
    sys.exit(
        f"berth_moto: moto {moto.__version__} is installed but the patches are written for "
        f"{PINNED_MOTO_VERSION}; run `scripts/install-test-deps`"
    )

from moto.autoscaling import models as autoscaling_models  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402
from moto.core.types import Base64EncodedString  # noqa: E402
from moto.ec2.models import EC2Backend  # noqa: E402
from moto.ec2.responses.launch_templates import LaunchTemplates  # noqa: E402
from moto.ec2.utils import parse_user_data  # noqa: E402

LAUNCH_TEMPLATE_VERSION_TAG = "aws:ec2launchtemplate:version"


def _require(owner, name):
    if not hasattr(owner, name):
        sys.exit(f"berth_moto: `{owner.__name__}.{name}` is missing; the patches need updating")


# --- 1. CreateLaunchTemplateVersion: UserData as Base64EncodedString, SourceVersion ---------

_require(LaunchTemplates, "create_launch_template_version")


def create_launch_template_version(self):
    name = self._get_param("LaunchTemplateName")
    template_id = self._get_param("LaunchTemplateId")
    if template_id:
        template = self.ec2_backend.get_launch_template(template_id)
    else:
        template = self.ec2_backend.get_launch_template_by_name(name)

    version_description = self._get_param("VersionDescription")
    template_data = self._get_param("LaunchTemplateData", {}) or {}
    source_version = self._get_param("SourceVersion")

    self.error_on_dryrun()

    user_data = template_data.get("UserData")
    if user_data is not None and not isinstance(user_data, Base64EncodedString):
        template_data["UserData"] = parse_user_data(user_data)

    if source_version:
        # As on AWS: the new version is the source version's data with the sent fields on top.
        merged = copy.deepcopy(template.get_version(source_version).data)
        merged.update(template_data)
        template_data = merged

    version = template.create_version(template_data, version_description)

    result = {
        "LaunchTemplateVersion": {
            "CreateTime": version.create_time,
            "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
            "DefaultVersion": template.is_default(version),
            "LaunchTemplateData": version.data,
            "LaunchTemplateId": template.id,
            "LaunchTemplateName": template.name,
            "VersionDescription": version.description,
            "VersionNumber": version.number,
        },
    }
    return ActionResult(result)


LaunchTemplates.create_launch_template_version = create_launch_template_version


# --- 2. ASG launches use the group's configured launch template version ----------------------

_require(autoscaling_models.FakeAutoScalingGroup, "replace_autoscaling_group_instances")
_require(EC2Backend, "run_instances")

_launching = threading.local()
_original_replace = autoscaling_models.FakeAutoScalingGroup.replace_autoscaling_group_instances
_original_run_instances = EC2Backend.run_instances


@functools.wraps(_original_replace)
def replace_autoscaling_group_instances(self, count_needed, propagated_tags):
    version = None
    if self.ec2_launch_template is not None:
        configured = getattr(self, "launch_template_version", None) or "$Default"
        version = self.ec2_launch_template.get_version(configured).number
    previous = getattr(_launching, "version", None)
    _launching.version = version
    try:
        return _original_replace(self, count_needed, propagated_tags)
    finally:
        _launching.version = previous


@functools.wraps(_original_run_instances)
def run_instances(self, image_id, count, user_data, security_group_names, **kwargs):
    version = getattr(_launching, "version", None)
    launch_template = kwargs.get("launch_template")
    if version is not None and launch_template:
        kwargs["launch_template"] = {**launch_template, "Version": str(version)}
    return _original_run_instances(
        self, image_id, count, user_data, security_group_names, **kwargs
    )


autoscaling_models.FakeAutoScalingGroup.replace_autoscaling_group_instances = (
    replace_autoscaling_group_instances
)
EC2Backend.run_instances = run_instances


# --- 3. ASG instances report the version they were launched from -----------------------------

_require(autoscaling_models.InstanceState, "launch_template")
_original_launch_template = autoscaling_models.InstanceState.launch_template


def _instance_launch_template(self):
    launch_template = _original_launch_template.fget(self)
    if launch_template is None:
        return None
    for tag in self.instance.get_tags():
        if tag.get("key") == LAUNCH_TEMPLATE_VERSION_TAG:
            launch_template["Version"] = tag.get("value")
            break
    return launch_template


autoscaling_models.InstanceState.launch_template = property(_instance_launch_template)


# --- 4. CreateAutoScalingGroup refuses an existing name, as AWS does ---------------------------

from moto.autoscaling.exceptions import AutoscalingClientError  # noqa: E402

_require(autoscaling_models.AutoScalingBackend, "create_auto_scaling_group")
_original_create_group = autoscaling_models.AutoScalingBackend.create_auto_scaling_group


class AlreadyExistsError(AutoscalingClientError):
    code = "AlreadyExists"


@functools.wraps(_original_create_group)
def create_auto_scaling_group(self, name, *args, **kwargs):
    if name in self.autoscaling_groups:
        raise AlreadyExistsError(f"AutoScalingGroup by this name already exists - {name}")
    return _original_create_group(self, name, *args, **kwargs)


autoscaling_models.AutoScalingBackend.create_auto_scaling_group = create_auto_scaling_group


# --- 5. IMDSv2: the token answer carries its TTL --------------------------------------------

from moto.instance_metadata import responses as metadata_responses  # noqa: E402
from moto.instance_metadata import urls as metadata_urls  # noqa: E402

_require(metadata_responses.InstanceMetadataResponse, "metadata_response")
_original_metadata_response = metadata_responses.InstanceMetadataResponse.metadata_response
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"


@functools.wraps(_original_metadata_response)
def metadata_response(request, full_url, headers):
    status, response_headers, body = _original_metadata_response(request, full_url, headers)
    if full_url.split("?")[0].endswith("/latest/api/token"):
        response_headers = dict(response_headers)
        response_headers[TOKEN_TTL_HEADER] = request.headers.get(TOKEN_TTL_HEADER) or "21600"
    return status, response_headers, body


metadata_responses.InstanceMetadataResponse.metadata_response = staticmethod(metadata_response)
_patched_paths = [
    key
    for key, handler in metadata_urls.url_paths.items()
    if handler is _original_metadata_response
]
if not _patched_paths:
    sys.exit("berth_moto: moto.instance_metadata.urls no longer maps metadata_response")
for key in _patched_paths:
    metadata_urls.url_paths[key] = metadata_response


# --- 6. and 7. ELBv2 creates are idempotent by name, as AWS documents ------------------------

from moto.elbv2 import exceptions as elbv2_exceptions  # noqa: E402
from moto.elbv2 import models as elbv2_models  # noqa: E402

_require(elbv2_models.ELBv2Backend, "create_load_balancer")
_require(elbv2_models.ELBv2Backend, "create_target_group")
_original_create_load_balancer = elbv2_models.ELBv2Backend.create_load_balancer
_original_create_target_group = elbv2_models.ELBv2Backend.create_target_group


@functools.wraps(_original_create_load_balancer)
def create_load_balancer(self, name, security_groups, subnet_ids, subnet_mappings=None,
                         scheme="internet-facing", loadbalancer_type=None, **kwargs):
    existing = next((lb for lb in self.load_balancers.values() if lb.name == name), None)
    if existing is None:
        return _original_create_load_balancer(
            self, name, security_groups, subnet_ids, subnet_mappings, scheme,
            loadbalancer_type, **kwargs
        )
    asked_subnets = set(subnet_ids or []) | {m["SubnetId"] for m in subnet_mappings or []}
    same = (
        existing.scheme == (scheme or "internet-facing")
        and existing.type == (loadbalancer_type or "application")
        and {subnet.id for subnet in existing.subnets} == asked_subnets
        and set(existing.security_groups or []) == set(security_groups or [])
    )
    if not same:
        raise elbv2_exceptions.DuplicateLoadBalancerName()
    return existing


@functools.wraps(_original_create_target_group)
def create_target_group(self, name, **kwargs):
    existing = next((tg for tg in self.target_groups.values() if tg.name == name), None)
    if existing is None:
        return _original_create_target_group(self, name, **kwargs)
    same = (
        existing.vpc_id == kwargs.get("vpc_id")
        and existing.protocol == kwargs.get("protocol")
        and str(existing.port) == str(kwargs.get("port"))
        and existing.target_type == (kwargs.get("target_type") or "instance")
    )
    if not same:
        raise elbv2_exceptions.DuplicateTargetGroupName()
    return existing


elbv2_models.ELBv2Backend.create_load_balancer = create_load_balancer
elbv2_models.ELBv2Backend.create_target_group = create_target_group


# --- Lifetime tied to the parent -------------------------------------------------------------


def _exit_on_stdin_eof():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


if __name__ == "__main__":
    if os.environ.get("BERTH_MOTO_EXIT_ON_STDIN_EOF") == "1":
        threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()

    from moto.server import main

    main()
