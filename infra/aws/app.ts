/**
 * The CDK app (`cdk.json` runs it with `npx tsx infra/aws/app.ts`). The environment is left unresolved, so
 * `cdk synth` needs no credentials; `cdk deploy` takes the account and region of the current profile.
 */
import { createTributaryApp } from './tributary-app';

createTributaryApp();
