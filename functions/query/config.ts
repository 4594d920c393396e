import * as z from 'zod';
import { loadConfig, name, withPointStore } from '../commons/config';

export const QueryConfig = withPointStore(z.object({ TABLE_NAME: name, EVENTS_TABLE_NAME: name, EVENTS_BUCKET: name, RECEIPT_KEY_ARN: name, ROLLUPS_TABLE_NAME: name }));
export const queryConfig = (env: Record<string, string | undefined>) => loadConfig(QueryConfig, env);
