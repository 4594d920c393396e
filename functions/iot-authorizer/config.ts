import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const IotAuthorizerConfig = z.object({
  TABLE_NAME: name,
  AWS_REGION: name,
  /** The account that owns the IoT resources; the CDK app sets it. */
  AWS_ACCOUNT_ID: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
  /** The partition of the ARNs in the device policy (`aws`, `aws-cn`, `aws-us-gov`); the CDK app sets it. */
  AWS_PARTITION: z.string().regex(/^aws(-[a-z]+)*$/, 'must be an AWS partition such as aws, aws-cn or aws-us-gov'),
});
export const iotAuthorizerConfig = (env: Record<string, string | undefined>) => loadConfig(IotAuthorizerConfig, env);
