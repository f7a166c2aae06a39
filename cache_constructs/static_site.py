"""StaticSite: a content-hashed static site in a private S3 bucket behind CloudFront.

What it builds from a site folder (``cache_constructs.web_assets`` hashes it at synth time):

- a private bucket (public access blocked, SSL only, SSE-S3, versioned, its own access logs)
  that only this distribution can read, through origin access control;
- the hashed assets (``<name>.<12 hex>.js|css``) with ``Cache-Control: public,
  max-age=31536000, immutable``; the HTML, service worker and manifest with ``no-cache``
  (CloudFront and browsers revalidate them by S3's ETag on every use), uploaded after the
  assets they point to, old assets kept (an open tab or a service worker may still ask for
  them);
- ``config.json`` written at deploy time from ``config`` (values may be tokens: the API and
  events URLs), so one build serves every environment;
- a response headers policy on every answer: HSTS, a Content-Security-Policy allowing the
  site's own origin, the import map by hash and ``connect_sources`` only, nosniff, frame
  denial, no referrer;
- optionally an API (``api``) on the site's own origin under ``api_path_patterns``, never
  cached at the edge (the API's own caches and Cache-Control decide);
- access logs of the distribution and of the bucket in a log bucket with its own rules.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    CfnResource,
    DefaultStackSynthesizer,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from cache_constructs._checkov import skip_checkov
from cache_constructs._nag import BASIC_EXECUTION_ROLE
from cache_constructs._props import construct_props
from cache_constructs._validation import is_unresolved, require_instance, require_one_of
from cache_constructs.log_groups import LOG_REMOVAL_POLICIES, LogGroupSettings, build_log_group
from cache_constructs.web_assets import (
    CONFIG,
    IMMUTABLE,
    REVALIDATE,
    WebAssets,
    build_web_assets,
    content_security_policy,
)

#: aws-cdk-lib's singleton BucketDeployment function (a child of the stack).
_DEPLOYMENT_HANDLER_PREFIX = "Custom::CDKBucketDeployment"
#: aws-cdk-lib's singleton auto-delete provider (a child of the stack) with DESTROY buckets.
_AUTO_DELETE_PROVIDER = "Custom::S3AutoDeleteObjectsCustomResourceProvider"
#: Why checkov's Lambda checks do not fit aws-cdk-lib's deploy-time handlers.
_HANDLER_CHECKOV_REASONS = {
    "CKV_AWS_115": "aws-cdk-lib's deploy-time handler runs only while a stack deploys",
    "CKV_AWS_116": (
        "CloudFormation waits for the handler's answer and fails the deployment on error; "
        "a dead-letter queue would receive nothing anyone acts on"
    ),
    "CKV_AWS_117": (
        "the handler only calls the S3 API (and, for deployments, reads the CDK asset "
        "bucket); in a VPC it would need NAT or endpoints for nothing"
    ),
}
_DEPLOYMENT_ENV_REASON = (
    "aws-cdk-lib's BucketDeployment handler environment holds no secret (the AWS CLI "
    "settings it runs with); Lambda encrypts it at rest with its AWS-managed key"
)
_DEPLOYMENT_ACTION_WILDCARDS = (
    "s3:GetObject*",
    "s3:GetBucket*",
    "s3:List*",
    "s3:DeleteObject*",
    "s3:Abort*",
)
_QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
_PRICE_CLASSES = tuple(cloudfront.PriceClass)
DEFAULT_HSTS_MAX_AGE = Duration.days(730)
DEFAULT_ACCESS_LOG_RETENTION = Duration.days(90)
DEFAULT_NONCURRENT_VERSION_RETENTION = Duration.days(30)


@construct_props
class StaticSiteProps:
    """What a caller may choose about a `StaticSite`; every field has its default here."""

    api_path_patterns: tuple[str, ...] = ()
    """CloudFront path patterns sent to the ``api`` (all methods, every viewer header but
    Host, nothing cached at the edge), e.g. ``("/products", "/products/*")``. Required with
    ``api``. Default none."""
    price_class: cloudfront.PriceClass = cloudfront.PriceClass.PRICE_CLASS_100
    """CloudFront price class. Default ``PRICE_CLASS_100`` (North America, Europe)."""
    domain_names: tuple[str, ...] = ()
    """Custom domain names (with ``certificate``). Default none (the ``*.cloudfront.net``
    name)."""
    web_acl_id: str | None = None
    """ARN of a WAF web ACL (CLOUDFRONT scope, us-east-1). Default none."""
    hsts_max_age: Duration = DEFAULT_HSTS_MAX_AGE
    """``Strict-Transport-Security`` max-age, >= 1 day. Default 730 days."""
    access_log_retention: Duration = DEFAULT_ACCESS_LOG_RETENTION
    """How long access logs are kept, >= 1 day. Default 90 days."""
    noncurrent_version_retention: Duration = DEFAULT_NONCURRENT_VERSION_RETENTION
    """How long replaced site objects are kept (rollback), >= 1 day. Default 30 days."""
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """What happens to both buckets when they leave the stack: ``RETAIN`` (default) or
    ``DESTROY`` (their objects are deleted too)."""
    log_retention: logs.RetentionDays | None = None
    """Retention of the deployment function's log group. Default: the owner's
    ``log_defaults``, else one month."""
    log_removal_policy: RemovalPolicy | None = None
    """``RETAIN`` or ``DESTROY`` for that log group. Default: the owner's ``log_defaults``,
    else ``removal_policy``."""
    log_encryption_key: kms.IKey | None = None
    """A customer-managed KMS key for that log group. Default: the owner's ``log_defaults``,
    else CloudWatch Logs' own encryption."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for field in ("api_path_patterns", "domain_names"):
            value = getattr(self, field)
            if isinstance(value, str):
                raise ValueError(f"{owner}.{field} must be a tuple of strings, not one string")
            object.__setattr__(self, field, tuple(value))
        for pattern in self.api_path_patterns:
            if not isinstance(pattern, str) or not pattern.startswith("/") or len(pattern) > 255:
                raise ValueError(
                    f"{owner}.api_path_patterns entries must be paths starting with '/'; "
                    f"got {pattern!r}"
                )
        require_one_of(f"{owner}.price_class", self.price_class, _PRICE_CLASSES)
        for field in ("hsts_max_age", "access_log_retention", "noncurrent_version_retention"):
            value = getattr(self, field)
            require_instance(f"{owner}.{field}", value, Duration)
            days = value.to_days(integral=False)
            if not is_unresolved(days) and days < 1:
                raise ValueError(f"{owner}.{field} must be at least 1 day; got {days:g} days")
        require_one_of(f"{owner}.removal_policy", self.removal_policy, LOG_REMOVAL_POLICIES)
        require_instance(f"{owner}.log_retention", self.log_retention, logs.RetentionDays)
        if self.log_removal_policy is not None:
            require_one_of(
                f"{owner}.log_removal_policy", self.log_removal_policy, LOG_REMOVAL_POLICIES
            )


class StaticSite(Construct):
    """A static site (content-hashed assets) served from a private bucket through CloudFront.

    :param scope: parent construct.
    :param id_: construct id.
    :param site_dir: the folder to publish: an ``index.html`` with the ``<!-- import-map -->``
        marker, scripts and stylesheets at its top level, ``sw.js`` (see web_assets.py).
        Required: the library ships no site (the product stack passes the repo's ``web/``).
    :param config: the JSON object served as ``config.json``, written at deploy time (values
        may be tokens), or a function of the site's URL returning it (for values that are
        the site's own origin, e.g. an API served there). Default ``{}``.
    :param connect_sources: origins the page may connect to besides its own (CSP
        ``connect-src``), e.g. ``wss://<realtime dns>``. Default none.
    :param api: a REST API to serve on the site's own origin under
        ``props.api_path_patterns`` (no CORS preflight for conditional requests, readable
        ETags). Default none.
    :param certificate: an ACM certificate in us-east-1 for ``props.domain_names`` (required
        with them); viewers then need TLS 1.2 (``TLS_V1_2_2021``).
    :param log_defaults: what an owner wants for the log group built here when ``props``
        leaves it unset.
    :param props: `StaticSiteProps`. Default: every default there.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        site_dir: str | Path,
        config: Mapping[str, Any] | Callable[[str], Mapping[str, Any]] | None = None,
        connect_sources: Sequence[str] = (),
        api: apigateway.RestApiBase | None = None,
        certificate: acm.ICertificate | None = None,
        log_defaults: LogGroupSettings | None = None,
        props: StaticSiteProps | None = None,
    ) -> None:
        super().__init__(scope, id_)
        props = props or StaticSiteProps()
        require_instance("props", props, StaticSiteProps)
        require_instance("log_defaults", log_defaults, LogGroupSettings)
        site = Path(site_dir)
        if not site.is_dir():
            raise ValueError(f"site_dir must be a folder; {site} is not one")
        if bool(props.api_path_patterns) != (api is not None):
            raise ValueError(
                "api and StaticSiteProps.api_path_patterns go together: give both or neither"
            )
        if bool(props.domain_names) != (certificate is not None):
            raise ValueError(
                "StaticSiteProps.domain_names and certificate go together: give both or neither"
            )
        if isinstance(connect_sources, str):
            raise ValueError("connect_sources must be a list of origins, not one string")
        self.props = props
        self.removal_policy = props.removal_policy
        self.log_settings = LogGroupSettings(
            retention=props.log_retention,
            removal_policy=props.log_removal_policy,
            encryption_key=props.log_encryption_key,
        ).or_else(log_defaults)
        """Retention, removal policy and key of the deployment function's log group."""
        try:
            #: The content-hashed build of ``site_dir`` (what is uploaded).
            self.assets: WebAssets = build_web_assets(site)
        except ValueError as exc:
            raise ValueError(f"site_dir: {exc}") from None
        #: The page's Content-Security-Policy (also in ``response_headers_policy``).
        self.content_security_policy = content_security_policy(
            self.assets, connect_sources=list(connect_sources)
        )
        #: Access logs of the distribution (``cloudfront/``) and of the site bucket (``s3/``).
        self.log_bucket = self._build_log_bucket(props.access_log_retention)
        #: The private bucket holding the site.
        self.bucket = self._build_bucket(props.noncurrent_version_retention)
        #: Security headers on every answer of the distribution.
        self.response_headers_policy = self._build_response_headers_policy(props.hsts_max_age)
        #: The CloudFront distribution.
        self.distribution = self._build_distribution(
            api=api,
            api_path_patterns=props.api_path_patterns,
            price_class=props.price_class,
            domain_names=props.domain_names,
            certificate=certificate,
            web_acl_id=props.web_acl_id,
        )
        host = (
            props.domain_names[0]
            if props.domain_names
            else self.distribution.distribution_domain_name
        )
        #: ``https://<the first custom domain name, or the distribution's domain>``.
        self.url = f"https://{host}"
        #: What ``config.json`` holds.
        self.config = dict(config(self.url) if callable(config) else config or {})
        #: The deployments: immutable assets first, then what points to them.
        self.asset_deployment, self.page_deployment = self._build_deployments(self.config)

    # -- overridable parts -------------------------------------------------------------------

    def _build_log_bucket(self, retention: Duration) -> s3.Bucket:
        """Where access logs go: private, SSL only, SSE-S3, expiring after ``retention``.

        CloudFront standard logging writes with an ACL, so this bucket (alone) keeps ACLs
        enabled for the object writer; S3 server access logs arrive through its bucket policy.
        """
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            # Log objects are written once and expire; versions would only keep deleted logs.
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=retention,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=self.removal_policy,
            auto_delete_objects=self.removal_policy == RemovalPolicy.DESTROY,
        )
        Validations.of(bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-S1",
                reason=(
                    "This bucket holds the access logs of the site bucket and the distribution; "
                    "logging its own access into itself would loop."
                ),
            )
        )
        skip_checkov(
            bucket,
            "CKV_AWS_18",
            "this is the access-log bucket of the site and its distribution: logging its own "
            "access into itself would loop",
        )
        skip_checkov(
            bucket,
            "CKV_AWS_21",
            "access logs are written once and expire after access_log_retention: versions "
            "would only keep deleted logs",
        )
        return bucket

    def _build_bucket(self, noncurrent_retention: Duration) -> s3.Bucket:
        """The site bucket: no public access, SSL only, SSE-S3, versioned for rollback."""
        return s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # A bad release is rolled back by restoring the previous versions of the pages.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-replaced-versions",
                    noncurrent_version_expiration=noncurrent_retention,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/",
            removal_policy=self.removal_policy,
            auto_delete_objects=self.removal_policy == RemovalPolicy.DESTROY,
        )

    def _build_response_headers_policy(
        self, hsts_max_age: Duration
    ) -> cloudfront.ResponseHeadersPolicy:
        """HSTS, the CSP, nosniff, frame denial and no referrer, overriding the origin's."""
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Security headers of the static site (HSTS, CSP, nosniff, DENY)",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=hsts_max_age, include_subdomains=True, override=True
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=self.content_security_policy, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
        )

    def _build_cache_policy(self) -> cloudfront.CachePolicy:
        """Follow the objects' own Cache-Control: min TTL 0, so ``no-cache`` is honoured.

        (The managed CachingOptimized policy has a 1 s minimum, which would let the edge
        answer a ``no-cache`` page without revalidating.) Compressed copies are cached apart.
        """
        return cloudfront.CachePolicy(
            self,
            "CachePolicy",
            comment="Static site: the origin's Cache-Control decides",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.days(1),
            max_ttl=Duration.days(365),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )

    def _build_distribution(
        self,
        *,
        api: apigateway.RestApiBase | None,
        api_path_patterns: Sequence[str],
        price_class: cloudfront.PriceClass,
        domain_names: Sequence[str],
        certificate: acm.ICertificate | None,
        web_acl_id: str | None,
    ) -> cloudfront.Distribution:
        """The distribution: the bucket through OAC, the API paths (if any), access logs."""
        additional: dict[str, cloudfront.BehaviorOptions] = {}
        if api is not None:
            api_behaviour = cloudfront.BehaviorOptions(
                origin=origins.RestApiOrigin(api),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                # If-None-Match, If-Match, Cache-Control and the rest reach the API; Host
                # must be the API's own for API Gateway to route the request.
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                response_headers_policy=self.response_headers_policy,
            )
            additional = {pattern: api_behaviour for pattern in api_path_patterns}
        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Static site {self.node.path}",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                cache_policy=self._build_cache_policy(),
                response_headers_policy=self.response_headers_policy,
                compress=True,
            ),
            additional_behaviors=additional,
            price_class=price_class,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_ipv6=True,
            domain_names=list(domain_names) or None,
            certificate=certificate,
            # Only a custom certificate takes a security policy (the default one is TLSv1).
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None
            ),
            web_acl_id=web_acl_id,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
        )
        self._acknowledge_distribution(distribution, custom_domain=bool(domain_names))
        if not domain_names:
            skip_checkov(
                distribution,
                "CKV_AWS_174",
                "on the default *.cloudfront.net certificate CloudFront fixes the viewer "
                "security policy; with domain_names and a certificate it is TLSv1.2_2021",
            )
        if web_acl_id is None:
            skip_checkov(
                distribution,
                "CKV_AWS_68",
                "a CloudFront web ACL must live in us-east-1 and this stack may deploy to any "
                "region (pass web_acl_id); the API behind it keeps its regional WAF",
            )
            Validations.of(distribution).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-CFR2",
                    reason=(
                        "A CloudFront web ACL must live in us-east-1 and this stack may deploy "
                        "to any region; pass web_acl_id to attach one. The API behind the "
                        "distribution keeps its own regional WAF and throttling."
                    ),
                )
            )
        return distribution

    def _acknowledge_distribution(
        self, distribution: cloudfront.Distribution, *, custom_domain: bool
    ) -> None:
        """Explain the findings a public, worldwide site on the default domain has."""
        acknowledgments = [
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-CFR1",
                reason=(
                    "A public catalog is served worldwide: no geo restriction. Restrict it on "
                    "the distribution (escape hatch) where the catalog is regional."
                ),
            )
        ]
        if not custom_domain:
            acknowledgments.append(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-CFR4",
                    reason=(
                        "On the default *.cloudfront.net certificate CloudFront fixes the "
                        "viewer security policy (TLSv1); with domain_names and a certificate "
                        "the distribution requires TLS_V1_2_2021."
                    ),
                )
            )
        Validations.of(distribution).acknowledge(*acknowledgments)

    def _build_deployments(
        self, config: dict[str, Any]
    ) -> tuple[s3_deployment.BucketDeployment, s3_deployment.BucketDeployment]:
        """Upload the hashed assets (immutable), then the pages and config.json (no-cache).

        Neither deployment prunes: assets of earlier releases stay for tabs and service
        workers that still hold an older page (they are small and never change).
        """
        settings = self.log_settings
        log_group = build_log_group(
            self,
            "DeploymentLogs",
            retention=settings.retention or logs.RetentionDays.ONE_MONTH,
            removal_policy=settings.removal_policy or self.removal_policy,
            encryption_key=settings.encryption_key,
        )
        immutable, revalidated = _stage(self.assets)
        assets = s3_deployment.BucketDeployment(
            self,
            "DeployAssets",
            destination_bucket=self.bucket,
            sources=[s3_deployment.Source.asset(str(immutable))],
            cache_control=[s3_deployment.CacheControl.from_string(IMMUTABLE)],
            prune=False,
            log_group=log_group,
        )
        pages = s3_deployment.BucketDeployment(
            self,
            "DeployPages",
            destination_bucket=self.bucket,
            sources=[
                s3_deployment.Source.asset(str(revalidated)),
                s3_deployment.Source.json_data(CONFIG, config),
            ],
            cache_control=[s3_deployment.CacheControl.from_string(REVALIDATE)],
            prune=False,
            log_group=log_group,
        )
        # A page must never point to an asset that is not uploaded yet.
        pages.node.add_dependency(assets)
        self._acknowledge_deployment_handler()
        self._explain_auto_delete_provider()
        return assets, pages

    def _explain_auto_delete_provider(self) -> None:
        """checkov skips on aws-cdk-lib's auto-delete handler (only with DESTROY buckets)."""
        provider = Stack.of(self).node.try_find_child(_AUTO_DELETE_PROVIDER)
        handler = provider.node.try_find_child("Handler") if provider is not None else None
        if isinstance(handler, CfnResource):
            for check_id, reason in _HANDLER_CHECKOV_REASONS.items():
                skip_checkov(handler, check_id, reason)

    def _acknowledge_deployment_handler(self) -> None:
        """Explain the findings of aws-cdk-lib's BucketDeployment handler (one per stack).

        Its runtime, managed policy and grants are aws-cdk-lib's; it runs during deploys only.
        """
        stack = Stack.of(self)
        handler = next(
            (c for c in stack.node.children if c.node.id.startswith(_DEPLOYMENT_HANDLER_PREFIX)),
            None,
        )
        if handler is None:
            return
        bucket = self.bucket.node.default_child
        assert isinstance(bucket, s3.CfnBucket)
        account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
        qualifier = (
            stack.node.try_get_context(_QUALIFIER_CONTEXT)
            or DefaultStackSynthesizer.DEFAULT_QUALIFIER
        )
        grant_reason = (
            "aws-cdk-lib's BucketDeployment handler reads the CDK asset bucket and writes the "
            "site bucket with these grants (action families and object wildcards), scoped to "
            "those two buckets; it runs only while a stack deploys."
        )
        wildcards = [
            *(f"Action::{action}" for action in _DEPLOYMENT_ACTION_WILDCARDS),
            f"Resource::<{stack.get_logical_id(bucket)}.Arn>/*",
            f"Resource::arn:<AWS::Partition>:s3:::cdk-{qualifier}-assets-{account}-{region}/*",
        ]
        for check_id, reason in {
            **_HANDLER_CHECKOV_REASONS,
            "CKV_AWS_173": _DEPLOYMENT_ENV_REASON,
        }.items():
            skip_checkov(handler, check_id, reason)
        Validations.of(handler).acknowledge(
            *(
                Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason=grant_reason
                )
                for finding in wildcards
            ),
            Acknowledgment(
                id=BASIC_EXECUTION_ROLE,
                reason=(
                    "The BucketDeployment handler of aws-cdk-lib writes only its own logs "
                    "with AWSLambdaBasicExecutionRole; it runs only while a stack deploys."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-L1",
                reason=(
                    "aws-cdk-lib pins the BucketDeployment handler's runtime (it needs the "
                    "AWS CLI layer built for it) and offers no prop to change it; the handler "
                    "runs only while a stack deploys and serves no traffic."
                ),
            ),
        )


def _stage(assets: WebAssets) -> tuple[Path, Path]:
    """The build written to two folders: immutable assets, and what is revalidated."""
    root = Path(tempfile.mkdtemp(prefix="static-site-"))
    atexit.register(shutil.rmtree, root, True)  # the synth has copied them into cdk.out
    immutable, revalidated = root / "immutable", root / "revalidated"
    immutable.mkdir()
    revalidated.mkdir()
    for obj in assets.objects():
        folder = immutable if obj.cache_control == IMMUTABLE else revalidated
        (folder / obj.name).write_bytes(obj.body)
    return immutable, revalidated


__all__ = ["StaticSite", "StaticSiteProps"]
