import type { Stream } from '../../shared/domain/stream-definition';
import { hashPassword, verifyPassword } from '../../shared/passwords';
import type { DeviceDirectory, StreamRegistry, TokenStore } from '../../shared/ports';
import { hashToken, sameHash, TOKEN_PREFIX } from '../../shared/tokens';

export interface DeviceIdentity {
  streamId: string;
  deviceId: string;
  /** Where the device may publish: its stream's `tributary/<id>/data`, and the stream's own topic if it names one. */
  topics: string[];
}

/**
 * Why a login is refused, as MQTT 3.1.1 CONNACK return codes name it: `identifier` (2, identifier rejected:
 * the client id is not the username), `credentials` (4, bad user name or password), `unauthorized` (5: the
 * token is known but may not ingest). `streamId` is set when the token was known, so the refusal can be
 * counted on that stream.
 */
export type DeviceRefusal = { ok: false; reason: string; code: 'identifier' | 'credentials' | 'unauthorized'; streamId?: string };
export type DeviceDecision = { ok: true; device: DeviceIdentity } | DeviceRefusal;

const DEVICE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** What a device login needs: tokens, and (for a stream's own `credentials`) who holds each username. */
export interface DeviceCheckDeps {
  tokens: TokenStore;
  devices?: Pick<DeviceDirectory, 'findUsername'>;
  registry?: Pick<StreamRegistry, 'get'>;
}

/** The topics a device of `stream` may publish to. */
export const publishTopics = (streamId: string, stream: Stream | undefined): string[] =>
  // a derived stream takes no records: its points are computed from its sources
  stream?.deriveOp !== undefined ? [] : stream?.device?.topic === undefined ? [dataTopic(streamId)] : [dataTopic(streamId), stream.device.topic];

// an unknown username is verified against this, so the answer takes as long as for a wrong password
let dummyHash: Promise<string> | undefined;

/**
 * Authenticates an MQTT device, in one of two ways. With a token: username = device id (and client id),
 * password = its stream's ingest token. With the stream's own `credentials` (an `iot_sensor` definition's
 * `{username, password}`, any password not starting with `trb_`): the username finds the stream, the
 * password is checked against its scrypt hash, and the client id must be the definition's `deviceId` (the
 * username if it names none). Used by the IoT Core custom authorizer and by the local broker.
 *
 * @example
 * const check = makeDeviceCheck({ tokens, devices, registry });
 * await check({ username: 'freezer-1', clientId: 'freezer-1', password: 'trb_…' });
 * await check({ username: 'sensor_user', clientId: 'TEMP-SENSOR-001', password: 'sensor_pass' });
 */
export function makeDeviceCheck(deps: DeviceCheckDeps) {
  async function withCredentials(username: string, clientId: string | undefined, password: string): Promise<DeviceDecision> {
    const refused: DeviceDecision = { ok: false, code: 'credentials', reason: 'unknown username or wrong password' };
    if (!deps.devices || !deps.registry || username.length > 128) return refused;
    const streamId = await deps.devices.findUsername(username);
    const stream = streamId === undefined ? undefined : await deps.registry.get(streamId);
    // the stream must still name this username: a claim left behind by a crash or a patch grants nothing
    const stored = stream?.device?.credentials?.username === username ? stream.device.credentials.passwordHash : undefined;
    const matches = await verifyPassword(password, stored ?? (await (dummyHash ??= hashPassword('not a password'))));
    if (!stream || !stored || !matches) return { ...refused, ...(stream && { streamId: stream.id }) };
    const deviceId = stream.device?.deviceId ?? username;
    if (clientId !== undefined && clientId !== deviceId) {
      return { ok: false, code: 'identifier', reason: `the client id '${clientId.slice(0, 64)}' must be the device id '${deviceId}' of stream '${stream.id}'`, streamId: stream.id };
    }
    return { ok: true, device: { streamId: stream.id, deviceId, topics: publishTopics(stream.id, stream) } };
  }

  return async function check(login: { username?: string; clientId?: string; password?: string }): Promise<DeviceDecision> {
    const { username, clientId, password } = login;
    // swapped fields are a common slip; the refusal then says so without repeating the token anywhere
    if (username?.startsWith(TOKEN_PREFIX)) return { ok: false, code: 'credentials', reason: 'the username looks like a token: the username is the device id, the password the ingest token' };
    if (username && password && !password.startsWith(TOKEN_PREFIX)) return withCredentials(username, clientId, password);
    if (!username || !DEVICE_ID.test(username)) return { ok: false, code: 'credentials', reason: 'username must be the device id (1-128 of A-Z a-z 0-9 _ . : -)' };
    if (!password) return { ok: false, code: 'credentials', reason: "password must be the stream's ingest token (or the device's own password)" };
    const hash = hashToken(password);
    const found = await deps.tokens.find(hash);
    if (!found || !sameHash(found.hash, hash)) return { ok: false, code: 'credentials', reason: 'unknown token' };
    const scope = found.scopes.find((s) => s.startsWith('ingest:'));
    const streamId = scope?.slice('ingest:'.length) ?? found.streamId;
    if (!scope) return { ok: false, code: 'unauthorized', reason: 'the token has no ingest scope (a read token cannot publish)', ...(streamId && { streamId }) };
    // checked after the token so that a device of a known stream with a generated client id is counted there
    if (clientId !== undefined && clientId !== username) return { ok: false, code: 'identifier', reason: `the client id '${clientId.startsWith(TOKEN_PREFIX) ? '(a token)' : clientId.slice(0, 64)}' must equal the username (the device id '${username}')`, ...(streamId && { streamId }) };
    const id = scope.slice('ingest:'.length);
    return { ok: true, device: { streamId: id, deviceId: username, topics: publishTopics(id, await deps.registry?.get(id)) } };
  };
}

/** The topic a device of a stream publishes to. */
export const dataTopic = (streamId: string) => `tributary/${streamId}/data`;
/** The topics a device may subscribe to (commands and alert messages for its stream). */
export const deviceTopicFilter = (streamId: string) => `tributary/${streamId}/devices/#`;

export interface IotAuthorizerEvent {
  protocols?: string[];
  protocolData?: { mqtt?: { username?: string; password?: string; clientId?: string } };
}

/**
 * AWS IoT Core custom authorizer: an IAM policy that lets the device connect with its own client id,
 * publish only to its stream's data topic (and the stream's own topic, if its definition names one), and
 * subscribe to its stream's device topics.
 *
 * @example
 * export const handler = makeIotAuthorizer({ tokens, region: 'eu-west-1', accountId: '123456789012', partition: 'aws' });
 */
export function makeIotAuthorizer(deps: DeviceCheckDeps & { region: string; accountId: string; partition?: string }) {
  const check = makeDeviceCheck(deps);
  const arn = (kind: string, name: string) => `arn:${deps.partition ?? 'aws'}:iot:${deps.region}:${deps.accountId}:${kind}/${name}`;
  return async (event: IotAuthorizerEvent) => {
    const mqtt = event.protocolData?.mqtt;
    // devices name the authorizer in the username's query part (`f3?x-amz-customauthorizer-name=…`)
    const username = mqtt?.username?.split('?')[0];
    const password = mqtt?.password ? Buffer.from(mqtt.password, 'base64').toString('utf8') : undefined;
    const decision = await check({ username, clientId: mqtt?.clientId, password });
    if (!decision.ok) return { isAuthenticated: false };
    const { streamId, deviceId, topics } = decision.device;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iot:Connect', Resource: arn('client', deviceId) },
        { Effect: 'Allow', Action: 'iot:Publish', Resource: topics.map((t) => arn('topic', t)) },
        { Effect: 'Allow', Action: 'iot:Subscribe', Resource: arn('topicfilter', deviceTopicFilter(streamId)) },
        { Effect: 'Allow', Action: 'iot:Receive', Resource: arn('topic', `tributary/${streamId}/devices/*`) },
      ],
    };
    return {
      isAuthenticated: true,
      principalId: deviceId.replace(/[^A-Za-z0-9]/g, '').slice(0, 128) || 'device',
      disconnectAfterInSeconds: 86_400,
      refreshAfterInSeconds: 3_600,
      policyDocuments: [JSON.stringify(policy)],
    };
  };
}
