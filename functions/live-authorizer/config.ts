import { AuthorizerConfig } from '../authorizer/config';
import { loadConfig } from '../commons/config';

/** The same settings as the HTTP API's authorizer: the table of tokens and tickets, the admin token's secret. */
export const LiveAuthorizerConfig = AuthorizerConfig;
export const liveAuthorizerConfig = (env: Record<string, string | undefined>) => loadConfig(LiveAuthorizerConfig, env);
