import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const DispatcherConfig = z.object({ TABLE_NAME: name, PULL_QUEUE_URL: z.url() });
export const dispatcherConfig = (env: Record<string, string | undefined>) => loadConfig(DispatcherConfig, env);
