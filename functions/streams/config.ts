import { z } from 'zod';
import { loadConfig, name } from '../commons/config';

export const StreamsConfig = z.object({ TABLE_NAME: name });
export const streamsConfig = (env: Record<string, string | undefined>) => loadConfig(StreamsConfig, env);
