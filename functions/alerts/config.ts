import * as z from 'zod';
import { loadConfig, name } from '../commons/config';

export const AlertsConfig = z.object({ TABLE_NAME: name });
export const alertsConfig = (env: Record<string, string | undefined>) => loadConfig(AlertsConfig, env);
