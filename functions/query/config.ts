import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const QueryConfig = z.object({ TABLE_NAME: name, TIMESTREAM_DATABASE: name, TIMESTREAM_TABLE: name, EVENTS_TABLE_NAME: name, EVENTS_BUCKET: name, RECEIPT_KEY_ARN: name, ROLLUPS_TABLE_NAME: name });
export const queryConfig = (env: Record<string, string | undefined>) => loadConfig(QueryConfig, env);
