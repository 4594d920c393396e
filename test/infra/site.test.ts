import { describe, expect, it } from 'vitest';
import { useSynthesizedTributary } from '../fixtures/synth';

const synth = useSynthesizedTributary();
const { getAtt, logicalId, props, ofType } = synth;

describe('the web dashboard in AWS: S3 behind CloudFront', () => {
  it('keeps the files in a private, SSL-only, encrypted bucket', () => {
    expect(props(synth.stack.site.bucket)).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(props(synth.stack.site.bucket).WebsiteConfiguration).toBeUndefined();
    const policy = ofType('AWS::S3::BucketPolicy').find((p) => p.Bucket?.Ref === logicalId(synth.stack.site.bucket))!;
    const statements = policy.PolicyDocument.Statement as any[];
    // enforce SSL: every request without TLS denied
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    // the only Allow: CloudFront's service principal, for this distribution, reading objects
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      expect.objectContaining({
        Action: 's3:GetObject',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Condition: { StringEquals: { 'AWS:SourceArn': expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([{ Ref: logicalId(synth.stack.site.distribution) }])] }) } },
      }),
    ]);
  });

  it('reads the bucket through Origin Access Control (SigV4, always), never an origin access identity, over HTTPS only', () => {
    const [oac] = ofType('AWS::CloudFront::OriginAccessControl');
    expect(oac!.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    const dist = props(synth.stack.site.distribution).DistributionConfig;
    expect(dist.Origins).toHaveLength(1);
    expect(dist.Origins[0].OriginAccessControlId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'] });
    expect(dist.Origins[0].S3OriginConfig.OriginAccessIdentity).toBe('');
    expect(dist.Origins[0].DomainName).toEqual(getAtt(synth.stack.site.bucket, 'RegionalDomainName'));
    expect(ofType('AWS::CloudFront::CloudFrontOriginAccessIdentity')).toEqual([]);
    expect(dist).toMatchObject({ DefaultRootObject: 'index.html', DefaultCacheBehavior: { ViewerProtocolPolicy: 'redirect-to-https' } });
  });

  it('answers with a content security policy that lets the page talk only to API Gateway, and no framing', () => {
    const [headers] = ofType('AWS::CloudFront::ResponseHeadersPolicy');
    const security = headers!.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = JSON.stringify(security.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain('.execute-api.');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(security.FrameOptions.FrameOption).toBe('DENY');
    expect(security.StrictTransportSecurity.AccessControlMaxAgeSec).toBe(31_536_000);
  });

  it('deploys the page, uPlot and a config.json naming this stack’s API and live URLs, then invalidates the distribution', () => {
    const [deployment] = ofType('Custom::CDKBucketDeployment');
    expect(deployment!.DestinationBucketName).toEqual({ Ref: logicalId(synth.stack.site.bucket) });
    expect(deployment!.DistributionId).toEqual({ Ref: logicalId(synth.stack.site.distribution) });
    expect(deployment!.DistributionPaths).toEqual(['/*']);
    // the page's files, uPlot's two files and config.json
    expect(deployment!.SourceObjectKeys).toHaveLength(4);
    const markers = JSON.stringify(deployment!.SourceMarkers);
    expect(markers).toContain(logicalId(synth.stack.api.httpApi));
    expect(markers).toContain(logicalId(synth.stack.live.webSocketApi));
  });

  it('lets the page’s origin call the API (CORS), with the headers it reads', () => {
    const cors = props(synth.stack.api.httpApi).CorsConfiguration;
    expect(JSON.stringify(cors.AllowOrigins)).toContain(`"${logicalId(synth.stack.site.distribution)}","DomainName"`);
    expect(cors.ExposeHeaders).toEqual(expect.arrayContaining(['content-disposition', 'next-cursor', 'location']));
    expect(cors.AllowHeaders).toContain('authorization');
  });

  it('names the site in the stack outputs', () => {
    const outputs = synth.template.toJSON().Outputs;
    expect(JSON.stringify(outputs.SiteUrl.Value)).toContain(logicalId(synth.stack.site.distribution));
  });
});
