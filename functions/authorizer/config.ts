import * as z from 'zod';
import { DEFAULT_ADMIN_TOKEN_CACHE_SECONDS } from '../../shared/aws/admin-token-secret';
import { loadConfig, name } from '../commons/config';

export const AuthorizerConfig = z.object({
  TABLE_NAME: name,
  ADMIN_TOKEN_SECRET_ARN: name,
  ADMIN_TOKEN_CACHE_SECONDS: z.coerce.number().int().min(0).max(3_600).default(DEFAULT_ADMIN_TOKEN_CACHE_SECONDS),
});
export const authorizerConfig = (env: Record<string, string | undefined>) => loadConfig(AuthorizerConfig, env);
