import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const IngestConfig = z.object({ TABLE_NAME: name, QUEUE_URL: z.url() });
export const ingestConfig = (env: Record<string, string | undefined>) => loadConfig(IngestConfig, env);
