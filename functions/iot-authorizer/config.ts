import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const IotAuthorizerConfig = z.object({
  TABLE_NAME: name,
  AWS_REGION: name,
  /** The account that owns the IoT resources; the CDK app sets it. */
  AWS_ACCOUNT_ID: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
});
export const iotAuthorizerConfig = (env: Record<string, string | undefined>) => loadConfig(IotAuthorizerConfig, env);
