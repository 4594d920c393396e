import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const AuthorizerConfig = z.object({ TABLE_NAME: name, ADMIN_TOKEN_SECRET_ARN: name });
export const authorizerConfig = (env: Record<string, string | undefined>) => loadConfig(AuthorizerConfig, env);
