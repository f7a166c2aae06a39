"""StaticSite: private bucket, OAC, cache behaviours, headers policy, logs, deploy-time config."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from helpers import acknowledge, new_stack, synth_app

from cache_constructs.log_groups import LogGroupSettings
from cache_constructs.static_site import StaticSite, StaticSiteProps
from cache_constructs.web_assets import IMMUTABLE, build_web_assets, content_security_policy

pytestmark = pytest.mark.synth
WEB = Path(__file__).resolve().parents[2] / "web"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CERTIFICATE_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
)


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _api(stack: cdk.Stack) -> apigateway.RestApi:
    api = apigateway.RestApi(stack, "Api", cloud_watch_role=False)
    api.root.add_resource("products").add_method("GET")
    # Test scaffolding: the API under the site is not what these tests judge.
    for rule in ("APIG1", "APIG2", "APIG3", "APIG4", "APIG6", "COG4"):
        acknowledge(api, rule, "test scaffolding API behind the site under test")
    return api


#: What StaticSite takes as wiring; everything else is a StaticSiteProps field.
WIRING = ("site_dir", "config", "connect_sources", "api", "certificate", "log_defaults")


def _site(stack: cdk.Stack, **options: Any) -> StaticSite:
    """StaticSite with ``options`` split into wiring keywords and StaticSiteProps fields."""
    wiring = {key: options.pop(key) for key in WIRING if key in options}
    wiring.setdefault("site_dir", WEB)
    return StaticSite(stack, "Site", **wiring, props=StaticSiteProps(**options))


def _build(**options: Any) -> tuple[cdk.Stack, StaticSite, dict[str, Any]]:
    stack = new_stack()
    site = _site(stack, **options)
    return stack, site, assertions.Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def default() -> tuple[cdk.Stack, StaticSite, dict[str, Any]]:
    return _build(config={"api_url": "https://api.example.com", "cache_version": "3"})


@pytest.fixture(scope="module")
def with_api() -> tuple[cdk.Stack, StaticSite, dict[str, Any]]:
    stack = new_stack()
    site = _site(
        stack,
        api=_api(stack),
        api_path_patterns=("/products", "/products/*"),
        connect_sources=["wss://events.example.com"],
    )
    return stack, site, assertions.Template.from_stack(stack).to_json()


def _id(stack: cdk.Stack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


def _distribution(template: dict[str, Any]) -> dict[str, Any]:
    (distribution,) = _resources(template, "AWS::CloudFront::Distribution").values()
    return distribution["Properties"]["DistributionConfig"]


# --- the buckets ---------------------------------------------------------------------------

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def test_the_site_bucket_is_private_encrypted_versioned_and_logged(default) -> None:
    stack, site, template = default
    props = template["Resources"][_id(stack, site.bucket)]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": _id(stack, site.log_bucket)},
        "LogFilePrefix": "s3/",
    }
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert template["Resources"][_id(stack, site.bucket)]["DeletionPolicy"] == "Retain"


def _bucket_policy(stack: cdk.Stack, template: dict[str, Any], bucket: Any) -> list[dict]:
    for policy in _resources(template, "AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": _id(stack, bucket)}:
            return policy["Properties"]["PolicyDocument"]["Statement"]
    raise AssertionError("no bucket policy")


def test_only_this_distribution_may_read_the_site_bucket_and_only_over_tls(default) -> None:
    stack, site, template = default
    statements = _bucket_policy(stack, template, site.bucket)
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert {json.dumps(s["Condition"], sort_keys=True) for s in denies} == {
        json.dumps({"Bool": {"aws:SecureTransport": "false"}}),
        json.dumps({"NumericLessThan": {"s3:TlsVersion": 1.2}}),
    }
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    distribution_id = _id(stack, site.distribution)
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Condition"] == {
        "StringEquals": {
            "AWS:SourceArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":cloudfront::",
                        {"Ref": "AWS::AccountId"},
                        ":distribution/",
                        {"Ref": distribution_id},
                    ],
                ]
            }
        }
    }


def test_cloudfront_reads_the_bucket_through_origin_access_control(default) -> None:
    _, _, template = default
    ((oac_id, oac),) = _resources(template, "AWS::CloudFront::OriginAccessControl").items()
    config = oac["Properties"]["OriginAccessControlConfig"]
    assert (config["OriginAccessControlOriginType"], config["SigningBehavior"]) == ("s3", "always")
    assert config["SigningProtocol"] == "sigv4"
    (origin,) = _distribution(template)["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_the_log_bucket_has_its_own_rules(default) -> None:
    stack, site, template = default
    props = template["Resources"][_id(stack, site.log_bucket)]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert "VersioningConfiguration" not in props
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 90
    # CloudFront standard logs are written with an ACL: the writer owns them.
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    denies = [s for s in _bucket_policy(stack, template, site.log_bucket) if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in denies]
    assert _distribution(template)["Logging"] == {
        "Bucket": {"Fn::GetAtt": [_id(stack, site.log_bucket), "RegionalDomainName"]},
        "Prefix": "cloudfront/",
    }


# --- cache behaviours and headers ----------------------------------------------------------


def test_the_default_behaviour_follows_the_objects_cache_control(default) -> None:
    stack, site, template = default
    config = _distribution(template)
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["Compress"] is True
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": _id(stack, site.response_headers_policy)}
    ((policy_id, policy),) = _resources(template, "AWS::CloudFront::CachePolicy").items()
    assert behaviour["CachePolicyId"] == {"Ref": policy_id}
    cache = policy["Properties"]["CachePolicyConfig"]
    # Min TTL 0: a `no-cache` page is revalidated at the edge too, never served from memory.
    assert (cache["MinTTL"], cache["DefaultTTL"], cache["MaxTTL"]) == (0, 86400, 31536000)
    encodings = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert encodings["EnableAcceptEncodingGzip"] is True
    assert encodings["EnableAcceptEncodingBrotli"] is True
    assert config["DefaultRootObject"] == "index.html"
    assert config["PriceClass"] == "PriceClass_100"
    assert config["HttpVersion"] == "http2and3"
    assert "CacheBehaviors" not in config


def test_api_paths_reach_the_api_uncached_with_every_viewer_header_but_host(with_api) -> None:
    stack, site, template = with_api
    config = _distribution(template)
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert sorted(behaviours) == ["/products", "/products/*"]
    api_origin = next(o for o in config["Origins"] if "CustomOriginConfig" in o)
    # "/<stage>": the stage segment of the API's URL, resolved at deploy time.
    slash, stage = api_origin["OriginPath"]["Fn::Join"][1]
    assert slash == "/"
    assert stage["Fn::Select"][0] == 3
    assert "ApiDeploymentStageprod" in json.dumps(stage)
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    for behaviour in behaviours.values():
        assert behaviour["TargetOriginId"] == api_origin["Id"]
        assert behaviour["CachePolicyId"] == CACHING_DISABLED
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
        assert sorted(behaviour["AllowedMethods"]) == sorted(
            ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
        )
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behaviour["ResponseHeadersPolicyId"] == {
            "Ref": _id(stack, site.response_headers_policy)
        }


def test_the_headers_policy_sends_hsts_the_csp_nosniff_and_denies_frames(with_api) -> None:
    stack, site, template = with_api
    props = template["Resources"][_id(stack, site.response_headers_policy)]["Properties"]
    headers = props["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 730 * 86400,
        "IncludeSubdomains": True,
        "Override": True,
    }
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    expected = content_security_policy(
        build_web_assets(WEB), connect_sources=["wss://events.example.com"]
    )
    assert headers["ContentSecurityPolicy"] == {"ContentSecurityPolicy": expected, "Override": True}


def test_the_csp_allows_the_import_map_by_hash_and_only_the_given_origins(with_api) -> None:
    _, site, _ = with_api
    directives = dict(d.split(" ", 1) for d in site.content_security_policy.split("; "))
    (import_map_hash,) = build_web_assets(WEB).inline_script_hashes
    assert directives["script-src"] == f"'self' {import_map_hash}"
    assert directives["connect-src"] == "'self' wss://events.example.com"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in site.content_security_policy


# --- what is uploaded, and how -------------------------------------------------------------


def _deployments(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _resources(template, "Custom::CDKBucketDeployment")


def _deployment_id(stack: cdk.Stack, deployment: Any) -> str:
    return stack.get_logical_id(deployment.node.find_child("CustomResource").node.default_child)


def test_assets_are_immutable_pages_no_cache_and_pages_come_second(default) -> None:
    stack, site, template = default
    deployments = _deployments(template)
    assets = template["Resources"][_deployment_id(stack, site.asset_deployment)]
    pages = template["Resources"][_deployment_id(stack, site.page_deployment)]
    assert len(deployments) == 2
    assert assets["Properties"]["SystemMetadata"] == {"cache-control": IMMUTABLE}
    assert pages["Properties"]["SystemMetadata"] == {"cache-control": "no-cache"}
    # Nothing is pruned: tabs and service workers holding an older page still find its assets.
    assert assets["Properties"]["Prune"] is False
    assert pages["Properties"]["Prune"] is False
    asset_id = _deployment_id(stack, site.asset_deployment)
    assert asset_id in pages["DependsOn"]


def _staged_files(stack: cdk.Stack) -> list[set[str]]:
    """The file names in each zip the deployments upload (from the synthesized assembly)."""
    assembly = stack.node.root.synth()  # type: ignore[union-attr]
    directory = Path(assembly.directory)
    manifest = json.loads((directory / f"{stack.stack_name}.assets.json").read_text())
    staged = []
    for asset in manifest["files"].values():
        path = directory / asset["source"]["path"]
        if path.is_dir():
            staged.append({p.name for p in path.iterdir()})
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                staged.append(set(archive.namelist()))
    return staged


def test_the_build_is_uploaded_hashed_and_config_json_is_written_at_deploy_time(default) -> None:
    stack, site, _ = default
    staged = _staged_files(stack)
    hashed = set(build_web_assets(WEB).hashed_names.values())
    assert hashed in staged
    assert {"index.html", "sw.js", "asset-manifest.json"} in staged
    assert {"config.json"} in staged
    assert site.config == {"api_url": "https://api.example.com", "cache_version": "3"}


def test_config_may_be_a_function_of_the_sites_own_url() -> None:
    seen: list[str] = []

    def config(site_url: str) -> dict[str, Any]:
        seen.append(site_url)
        return {"api_url": site_url}

    stack, site, template = _build(config=config)
    (url,) = seen
    distribution = _id(stack, site.distribution)
    assert stack.resolve(url) == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]
    }
    pages = template["Resources"][_deployment_id(stack, site.page_deployment)]
    markers = json.dumps(pages["Properties"]["SourceMarkers"])
    assert distribution in markers  # the URL is filled in at deploy time


# --- props ---------------------------------------------------------------------------------


def test_custom_domain_waf_price_class_and_durations() -> None:
    stack = new_stack()
    certificate = acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN)
    acl = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/site/abc"
    site = _site(
        stack,
        domain_names=("shop.example.com",),
        certificate=certificate,
        web_acl_id=acl,
        price_class=cloudfront.PriceClass.PRICE_CLASS_ALL,
        hsts_max_age=cdk.Duration.days(365),
        access_log_retention=cdk.Duration.days(30),
        noncurrent_version_retention=cdk.Duration.days(7),
        log_retention=logs.RetentionDays.ONE_WEEK,
    )
    template = assertions.Template.from_stack(stack).to_json()
    config = _distribution(template)
    assert config["Aliases"] == ["shop.example.com"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": CERTIFICATE_ARN,
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }
    assert config["WebACLId"] == acl
    assert config["PriceClass"] == "PriceClass_All"
    assert site.url == "https://shop.example.com"
    headers = template["Resources"][_id(stack, site.response_headers_policy)]["Properties"]
    hsts = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"][
        "StrictTransportSecurity"
    ]
    assert hsts["AccessControlMaxAgeSec"] == 365 * 86400
    log_rules = template["Resources"][_id(stack, site.log_bucket)]["Properties"]
    assert log_rules["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30
    site_rules = template["Resources"][_id(stack, site.bucket)]["Properties"]
    assert site_rules["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 7
    }
    (log_group,) = _resources(template, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == 7


def test_destroy_removes_the_buckets_with_their_objects() -> None:
    stack, site, template = _build(removal_policy=cdk.RemovalPolicy.DESTROY)
    for bucket in (site.bucket, site.log_bucket):
        assert template["Resources"][_id(stack, bucket)]["DeletionPolicy"] == "Delete"
    assert len(_resources(template, "Custom::S3AutoDeleteObjects")) == 2


def test_the_default_url_is_the_distributions_domain(default) -> None:
    stack, site, _ = default
    assert stack.resolve(site.url) == {
        "Fn::Join": [
            "",
            ["https://", {"Fn::GetAtt": [_id(stack, site.distribution), "DomainName"]}],
        ]
    }


@pytest.mark.parametrize("build", ["default", "api", "domain"])
def test_cdk_nag_aws_solutions_passes(build: str) -> None:
    stack = new_stack(nag=True)
    props: dict[str, Any] = {}
    if build == "api":
        props = {"api": _api(stack), "api_path_patterns": ("/products*",)}
    if build == "domain":
        props = {
            "domain_names": ("shop.example.com",),
            "certificate": acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
        }
    _site(stack, **props)
    synth_app(stack)  # raises on any unacknowledged finding


# --- validation ----------------------------------------------------------------------------


def test_bad_site_folders_are_rejected_naming_site_dir(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="site_dir"):
        StaticSite(new_stack(), "Site", site_dir=tmp_path / "missing")
    (tmp_path / "app.js").write_text("export {};\n")
    with pytest.raises(ValueError, match=r"site_dir: .*index\.html"):
        StaticSite(new_stack(), "Site", site_dir=tmp_path)


@pytest.mark.parametrize(
    ("props", "named"),
    [
        ({"api_path_patterns": ("/products*",)}, "api and StaticSiteProps.api_path_patterns"),
        ({"with_api": True}, "api and StaticSiteProps.api_path_patterns"),
        ({"with_api": True, "api_path_patterns": ("products*",)}, "api_path_patterns"),
        ({"with_api": True, "api_path_patterns": "/products*"}, "api_path_patterns"),
        ({"domain_names": ("shop.example.com",)}, "domain_names and certificate"),
        ({"domain_names": "shop.example.com"}, "StaticSiteProps.domain_names"),
        ({"hsts_max_age": cdk.Duration.hours(1)}, "hsts_max_age"),
        ({"access_log_retention": cdk.Duration.hours(1)}, "access_log_retention"),
        ({"noncurrent_version_retention": cdk.Duration.hours(1)}, "noncurrent_version_retention"),
        ({"removal_policy": cdk.RemovalPolicy.SNAPSHOT}, "StaticSiteProps.removal_policy"),
        ({"log_removal_policy": cdk.RemovalPolicy.SNAPSHOT}, "log_removal_policy"),
        ({"price_class": "cheap"}, "price_class"),
        ({"site_dri": "web"}, r"StaticSiteProps.site_dri is not a prop"),
        ({"connect_sources": "wss://x"}, "connect_sources"),
    ],
)
def test_bad_props_are_rejected_by_name(props: dict[str, Any], named: str) -> None:
    stack = new_stack()
    if props.pop("with_api", False):
        props["api"] = _api(stack)
    with pytest.raises(ValueError, match=named):
        _site(stack, **props)


def test_props_must_be_the_props_class() -> None:
    with pytest.raises(ValueError, match="props must be a StaticSiteProps"):
        StaticSite(new_stack(), "Site", site_dir=WEB, props={"price_class": None})  # type: ignore[arg-type]


def test_the_deployment_log_group_follows_the_owner_and_takes_its_key() -> None:
    stack = new_stack()
    key = kms.Key(stack, "LogKey", enable_key_rotation=True)
    _site(
        stack,
        log_defaults=LogGroupSettings(
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            encryption_key=key,
        ),
    )
    template = assertions.Template.from_stack(stack).to_json()
    (log_group,) = _resources(template, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": [stack.get_logical_id(key.node.default_child), "Arn"]
    }
    assert log_group["DeletionPolicy"] == "Delete"


def _skips(resource: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["comment"] for s in resource["Metadata"]["checkov"]["skip"]}


def test_checkov_skips_say_why_and_only_where_they_apply() -> None:
    stack, site, template = _build(removal_policy=cdk.RemovalPolicy.DESTROY)
    assert set(_skips(template["Resources"][_id(stack, site.log_bucket)])) == {
        "CKV_AWS_18",
        "CKV_AWS_21",
    }
    assert (
        "Metadata" not in template["Resources"][_id(stack, site.bucket)]
        or "checkov" not in (template["Resources"][_id(stack, site.bucket)]["Metadata"])
    )
    distribution = _skips(template["Resources"][_id(stack, site.distribution)])
    assert set(distribution) == {"CKV_AWS_68", "CKV_AWS_174"}
    handlers = {
        key: _skips(resource)
        for key, resource in _resources(template, "AWS::Lambda::Function").items()
        if key.startswith(("CustomCDKBucketDeployment", "CustomS3AutoDeleteObjects"))
    }
    assert len(handlers) == 2
    for skips in handlers.values():
        assert {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"} <= set(skips)
        assert all(len(comment) >= 40 for comment in skips.values())
    # With a custom domain and a web ACL nothing about them is skipped.
    acl = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/site/abc"
    stack = new_stack()
    site = _site(
        stack,
        domain_names=("shop.example.com",),
        certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
        web_acl_id=acl,
    )
    resource = assertions.Template.from_stack(stack).to_json()["Resources"][
        _id(stack, site.distribution)
    ]
    assert "checkov" not in resource.get("Metadata", {})
