import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Aws, CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { UPLOT_FILES, WEB_DIR } from '../../local/dashboard-site';
import { nagEnv } from './nag';

export interface DashboardSiteProps {
  /** A custom domain of the HTTP API, if it has one: the page may talk to it as well as to execute-api. */
  readonly apiDomainName?: string;
}

/**
 * The web dashboard in AWS: the same files `npm start` serves (`web/` and uPlot), in a private S3 bucket
 * (all public access blocked, SSL only, encrypted) that only this CloudFront distribution may read, through
 * Origin Access Control. `deploy` uploads them with a `config.json` naming the stack's API and live URLs,
 * and invalidates the distribution. The page's content security policy lets it load only its own files and
 * talk only to this region's API Gateway endpoints (and the API's custom domain).
 *
 * @example
 * const site = new DashboardSite(stack, 'Site', {});
 * // … the API, allowing site.origin in CORS …
 * site.deploy({ apiUrl: api.url, liveUrl: live.url });
 */
export class DashboardSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<distribution>.cloudfront.net`: the page's origin, for the API's CORS. */
  readonly origin: string;
  deployment?: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, props: DashboardSiteProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'It holds only the dashboard\'s static files, written by the deployment and read only by CloudFront through Origin Access Control; ' +
        'no user data is in it. Access logs would need a second bucket that itself goes unlogged.',
    });
    const execute = `*.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;
    const apis = [`https://${execute}`, `wss://${execute}`, ...(props.apiDomainName ? [`https://${props.apiDomainName}`] : [])].join(' ');
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Tributary dashboard: CSP (own files; this region\'s API Gateway), HSTS, nosniff, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ${apis}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
          override: true,
        },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Tributary dashboard',
      defaultRootObject: 'index.html',
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: headers,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      },
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'The page is public static code with no data in it; every request it makes is authorized by a token at the API. Who may use Tributary is the tokens\' business, not a country list.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'Static files only, cached at the edge: nothing behind this distribution runs code or holds data. The API it talks to is API Gateway, throttled per stage.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason: 'The requests are for the same public static files; standard logs would need a log bucket that itself goes unlogged. The API requests that matter are in the API\'s access logs.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The distribution uses the default *.cloudfront.net certificate, with which CloudFront lets TLSv1 in for old clients whatever minimumProtocolVersion says; ' +
          'TLSv1.2_2021 applies once a custom domain and certificate are set. The page carries no secret: the token is typed into it and sent only to the API over TLS 1.2.',
      },
    );
  }

  /** Uploads the page, uPlot and `config.json` (`{apiUrl, liveUrl}`), then invalidates the distribution. */
  deploy(urls: { apiUrl: string; liveUrl: string }): s3deploy.BucketDeployment {
    const require = createRequire(import.meta.url);
    this.deployment = new s3deploy.BucketDeployment(this, 'Files', {
      destinationBucket: this.bucket,
      sources: [
        s3deploy.Source.asset(WEB_DIR),
        ...Object.entries(UPLOT_FILES).map(([name, mod]) => s3deploy.Source.data(`ui/vendor/${name}`, readFileSync(require.resolve(mod), 'utf8'))),
        s3deploy.Source.jsonData('config.json', { apiUrl: urls.apiUrl, liveUrl: urls.liveUrl }),
      ],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
    });
    // the role's scope is CDK's singleton handler function (one per stack and memory size)
    const handler = this.deployment.handlerRole.node.scope;
    if (handler) acknowledgeDeploymentHandler(handler as Construct, Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement), nagEnv(Stack.of(this)));
    return this.deployment;
  }
}

/** The BucketDeployment's own function runs once per deploy, from CloudFormation: what cdk-nag asks of request-serving functions does not apply. */
function acknowledgeDeploymentHandler(handler: Construct, bucketId: string, env: { region: string; account: string }): void {
  const deployOnly = 'The BucketDeployment handler CDK provides: run by CloudFormation only while a deploy copies the dashboard\'s files, never by a request; a failure fails that deploy.';
  const grants = `${deployOnly} CDK grants it read on the bootstrap asset bucket and write on this site's bucket only, where it copies and prunes the files.`;
  Validations.of(handler).acknowledge(
    { id: 'AwsSolutions-L1', reason: `${deployOnly} Its runtime is the one the aws-cdk-lib release pins for it, updated with aws-cdk-lib.` },
    { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: `${deployOnly} The managed policy only lets it write its own logs.` },
    ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((a) => ({ id: `AwsSolutions-IAM5[Action::${a}]`, reason: grants })),
    { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${env.account}-${env.region}/*]`, reason: `${grants} The asset bucket's objects are the deploy's sources.` },
    { id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, reason: `${grants} Every object of the site's bucket is a file of the page.` },
    { id: 'AwsSolutions-IAM5[Resource::*]', reason: `${deployOnly} cloudfront:CreateInvalidation and GetInvalidation name no distribution ARN in CDK's grant; it invalidates this site's distribution after the copy.` },
    { id: 'Serverless-LambdaDLQ', reason: `${deployOnly} CloudFormation calls it synchronously and sees its failure: there is no asynchronous event to keep.` },
    { id: 'Serverless-LambdaLatestVersion', reason: `${deployOnly} Its runtime is pinned by aws-cdk-lib.` },
    { id: 'Serverless-LambdaTracing', reason: `${deployOnly} A deploy step, not part of any request to trace.` },
  );
}
