import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const PullConfig = z.object({ TABLE_NAME: name, QUEUE_URL: z.url(), SECRET_PREFIX: name });
export const pullConfig = (env: Record<string, string | undefined>) => loadConfig(PullConfig, env);
