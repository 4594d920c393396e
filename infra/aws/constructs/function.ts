import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge } from './nag';

/** The repository root: entry paths, the lock file and `tsconfig.json` are resolved from here. */

/** The Node flags every Tributary function runs with; the local runtime (`npm start`) uses the same. */
export const NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=32';
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The Lambda handlers, by folder under `functions/`; each `handler.ts` exports `handler`. */
export type HandlerName = 'streams' | 'ingest' | 'query' | 'writer' | 'authorizer' | 'iot-authorizer' | 'alerts' | 'alert-actions' | 'silence' | 'pull' | 'pull-dispatcher' | 'live' | 'live-authorizer';

/** The handlers that run client JavaScript in the QuickJS sandbox: they ship its WebAssembly module. */
export const SANDBOX_HANDLERS: ReadonlySet<HandlerName> = new Set(['streams', 'pull']);
/** The QuickJS build `quickjs-emscripten` loads, relative to the repository root. */
export const QUICKJS_WASM = 'node_modules/@jitl/quickjs-wasmfile-release-sync/dist/emscripten-module.wasm';

/** Where a handler's entry file lives, relative to the repository root. */
export const handlerEntry = (name: HandlerName) => `functions/${name}/handler.ts`;

export interface TributaryFunctionProps {
  /** The folder under `functions/`; its `handler.ts` must export `handler`. */
  readonly handler: HandlerName;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /** Runs the function in a VPC (none by default); Lambda then adds the ENI permissions to the role. */
  readonly network?: FunctionNetwork;
  /** Executions reserved for this function (none by default: a reservation takes from the account's quota). */
  readonly reservedConcurrency?: number;
}

/** The Lambda runtimes a Tributary function may run on; the bundle targets the same Node version. */
export const RUNTIMES = {
  'nodejs22.x': { runtime: lambda.Runtime.NODEJS_22_X, target: 'node22' },
  'nodejs24.x': { runtime: lambda.Runtime.NODEJS_24_X, target: 'node24' },
} as const;

/** What every function of a stack shares, from the stack's settings. */
export interface FunctionDefaults {
  readonly runtime: keyof typeof RUNTIMES;
  /** Memory per handler in MB, overriding what the construct asks for. */
  readonly memorySize: Partial<Record<HandlerName, number>>;
  /** The application log level (Lambda's `AWS_LAMBDA_LOG_LEVEL`, which Powertools Logger reads). */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

const defaultsByStack = new WeakMap<IConstruct, FunctionDefaults>();

/**
 * Sets what every `TributaryFunction` of the stack runs with; called by the stack before it builds any.
 *
 * @example
 * setFunctionDefaults(this, { runtime: 'nodejs24.x', memorySize: { query: 1024 } });
 */
export function setFunctionDefaults(stack: Stack, defaults: FunctionDefaults): void {
  defaultsByStack.set(stack, defaults);
}

/**
 * Where a function that must reach private resources runs.
 *
 * @example
 * const network: FunctionNetwork = { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } };
 */
export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/**
 * One Tributary Lambda: a `NodejsFunction` (Node.js 22 or 24, the runtime setting, on arm64, ESM bundle built by the local esbuild,
 * X-Ray active) with its own log group and its own role. The role starts with nothing but writing to that
 * log group and X-Ray; each construct grants the rest, resource by resource.
 *
 * The AWS SDK v3 is bundled rather than taken from the runtime: the adapters in `shared/aws` translate SDK
 * errors with `instanceof`, which only holds when every client and `@smithy/*` package comes from the one
 * tested version in `package-lock.json`; the runtime's copy changes under us without a deploy.
 *
 * @example
 * const ingest = new TributaryFunction(this, 'IngestFunction', {
 *   handler: 'ingest', description: 'POST /v1/streams/{id}/data', memorySize: 512,
 *   timeout: Duration.seconds(10), environment: { TABLE_NAME: table.tableName }, logRetention: RetentionDays.ONE_MONTH,
 * });
 * table.grant(ingest.fn, 'dynamodb:GetItem');
 */
export class TributaryFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** The folder under `functions/` whose `handler.ts` this function runs. */
  readonly handler: TributaryFunctionProps['handler'];

  constructor(scope: Construct, id: string, props: TributaryFunctionProps) {
    super(scope, id);
    this.handler = props.handler;
    const defaults = defaultsByStack.get(Stack.of(this)) ?? { runtime: 'nodejs22.x', memorySize: {} };
    const runtime = RUNTIMES[defaults.runtime];

    // Its removal policy is the stack's (the removalPolicy setting, applied to every stateful resource).
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention });

    // An own role instead of the default one, which carries the AWSLambdaBasicExecutionRole managed policy
    // (logs:CreateLogGroup and PutLogEvents on every log group of the account).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Tributary ${props.handler} function`,
    });
    this.logGroup.grantWrite(this.role);
    // CDK's Function adds this policy only to a role it creates itself: on our own role, a function in a VPC would fail to
    // create (it must manage its network interfaces, ec2:*NetworkInterface*, in its subnets)
    if (props.network) this.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));

    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, handlerEntry(props.handler)),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: runtime.runtime,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      memorySize: defaults.memorySize[props.handler] ?? props.memorySize,
      ...(props.reservedConcurrency !== undefined && { reservedConcurrentExecutions: props.reservedConcurrency }),
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      // Lambda's JSON log format: the platform's own lines are JSON too, and below the level nothing is written
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel[defaults.logLevel ?? 'INFO'],
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      ...(props.network && { vpc: props.network.vpc, vpcSubnets: props.network.vpcSubnets, securityGroups: props.network.securityGroups }),
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        ...props.environment,
        // Stack traces point into the TypeScript sources. A 32 MB semi-space lets a batch's short-lived
        // objects die young: with V8's 16 MB default, validating and building a 10 000-record batch spends
        // half its time promoting survivors (BENCHMARKS.md, figure a).
        NODE_OPTIONS: NODE_OPTIONS,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: runtime.target,
        mainFields: ['module', 'main'],
        // CommonJS dependencies bundled into an ES module still call require() for Node built-ins.
        banner: "import { createRequire as __tributaryCreateRequire } from 'node:module'; const require = __tributaryCreateRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        bundleAwsSDK: true,
        // modbus-serial (Modbus TCP pulls) loads the optional serialport only for serial lines, inside a try: left out
        // of the bundle, its native bindings never reach a function, and the TCP client loads without it
        externalModules: ['serialport'],
        tsconfig: join(REPO_ROOT, 'tsconfig.json'),
        // QuickJS (JavaScript transforms, functions/commons/js-sandbox.ts) loads its WebAssembly from beside the bundle
        ...(SANDBOX_HANDLERS.has(props.handler) && {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (inputDir: string, outputDir: string) => [`cp "${join(inputDir, QUICKJS_WASM)}" "${outputDir}/"`],
          },
        }),
      },
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) and, for the Timestream functions, ' +
        'timestream:DescribeEndpoints use "*": these actions have no resource type. Every data action of this role names its resource.',
    });
    acknowledge(this.fn, {
      'Serverless-LambdaDLQ':
        'No Tributary function keeps work in an asynchronous invocation: API routes, authorizers and the alert tasks are invoked ' +
        'synchronously, the queue consumers redrive to their own SQS dead-letter queues, and the two every-minute schedules ' +
        '(silence check, pull dispatcher) redo a failed tick on the next one, with an Errors alarm; a DLQ would hold nothing to replay.',
    });
    if (defaults.runtime !== 'nodejs24.x') {
      const reason =
        'nodejs22.x is a maintained LTS runtime (Node 22 is supported until April 2027) and the one the bundle targets and the ' +
        'handlers are tested for; nodejs24.x is one setting away (runtime), a deliberate upgrade rather than something synth should pick.';
      acknowledge(this.fn, { 'AwsSolutions-L1': reason, 'Serverless-LambdaLatestVersion': reason });
    }
  }
}
