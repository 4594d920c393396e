import type { TokenStore } from '../../shared/ports';
import { hashToken, sameHash, TOKEN_PREFIX } from '../../shared/tokens';

export interface DeviceIdentity {
  streamId: string;
  deviceId: string;
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

/**
 * Authenticates an MQTT device: username = device id (and client id), password = its stream's ingest
 * token. Used by the IoT Core custom authorizer and by the local broker.
 *
 * @example
 * const check = makeDeviceCheck({ tokens });
 * await check({ username: 'freezer-1', clientId: 'freezer-1', password: 'trb_…' });
 */
export function makeDeviceCheck(deps: { tokens: TokenStore }) {
  return async function check(login: { username?: string; clientId?: string; password?: string }): Promise<DeviceDecision> {
    const { username, clientId, password } = login;
    // swapped fields are a common slip; the refusal then says so without repeating the token anywhere
    if (username?.startsWith(TOKEN_PREFIX)) return { ok: false, code: 'credentials', reason: 'the username looks like a token: the username is the device id, the password the ingest token' };
    if (!username || !DEVICE_ID.test(username)) return { ok: false, code: 'credentials', reason: 'username must be the device id (1-128 of A-Z a-z 0-9 _ . : -)' };
    if (!password) return { ok: false, code: 'credentials', reason: "password must be the stream's ingest token" };
    const hash = hashToken(password);
    const found = await deps.tokens.find(hash);
    if (!found || !sameHash(found.hash, hash)) return { ok: false, code: 'credentials', reason: 'unknown token' };
    const scope = found.scopes.find((s) => s.startsWith('ingest:'));
    const streamId = scope?.slice('ingest:'.length) ?? found.streamId;
    if (!scope) return { ok: false, code: 'unauthorized', reason: 'the token has no ingest scope (a read token cannot publish)', ...(streamId && { streamId }) };
    // checked after the token so that a device of a known stream with a generated client id is counted there
    if (clientId !== undefined && clientId !== username) return { ok: false, code: 'identifier', reason: `the client id '${clientId.startsWith(TOKEN_PREFIX) ? '(a token)' : clientId.slice(0, 64)}' must equal the username (the device id '${username}')`, ...(streamId && { streamId }) };
    return { ok: true, device: { streamId: scope.slice('ingest:'.length), deviceId: username } };
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
 * publish only to its stream's data topic, and subscribe to its stream's device topics.
 *
 * @example
 * export const handler = makeIotAuthorizer({ tokens, region: 'eu-west-1', accountId: '123456789012', partition: 'aws' });
 */
export function makeIotAuthorizer(deps: { tokens: TokenStore; region: string; accountId: string; partition: string }) {
  const check = makeDeviceCheck(deps);
  const arn = (kind: string, name: string) => `arn:${deps.partition}:iot:${deps.region}:${deps.accountId}:${kind}/${name}`;
  return async (event: IotAuthorizerEvent) => {
    const mqtt = event.protocolData?.mqtt;
    // devices name the authorizer in the username's query part (`f3?x-amz-customauthorizer-name=…`)
    const username = mqtt?.username?.split('?')[0];
    const password = mqtt?.password ? Buffer.from(mqtt.password, 'base64').toString('utf8') : undefined;
    const decision = await check({ username, clientId: mqtt?.clientId, password });
    if (!decision.ok) return { isAuthenticated: false };
    const { streamId, deviceId } = decision.device;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'iot:Connect', Resource: arn('client', deviceId) },
        { Effect: 'Allow', Action: 'iot:Publish', Resource: arn('topic', dataTopic(streamId)) },
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
