import { type IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { StoreUnavailableError } from '../domain/errors';
import type { AlertPublisher } from '../ports';

/**
 * `AlertPublisher` on the IoT data plane: `Publish` at QoS 1 to a topic under `tributary/{streamId}/devices/`,
 * which the function's IAM allows and the stream's devices may subscribe to.
 *
 * @example
 * const mqtt = new IotDataAlertPublisher({ client: new IoTDataPlaneClient({}) });
 * await mqtt.publish('tributary/freezers/devices/f1/alerts', JSON.stringify(payload));
 */
export class IotDataAlertPublisher implements AlertPublisher {
  constructor(private readonly options: { client: IoTDataPlaneClient }) {
    if (!options.client) throw new TypeError('IotDataAlertPublisher needs an IoT data plane client.');
  }

  async publish(topic: string, payload: string): Promise<void> {
    try {
      await this.options.client.send(new PublishCommand({ topic, qos: 1, payload: new TextEncoder().encode(payload), contentType: 'application/json' }));
    } catch (err) {
      throw new StoreUnavailableError(`IoT Publish failed: ${(err as Error).name}.`, { cause: err });
    }
  }
}
