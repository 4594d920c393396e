import type { AlertPublisher } from '../ports';

/** What the publisher needs of an aedes broker. */
export interface BrokerLike {
  publish(packet: { cmd: 'publish'; topic: string; payload: Buffer; qos: 0 | 1; retain: boolean; dup: boolean }, done: (err?: Error | null) => void): void;
}

/**
 * `AlertPublisher` on the local aedes broker: what the IoT data plane's `Publish` does in AWS. The broker is
 * attached once the MQTT gateway is up; publishing before that fails (the state machine retries it).
 *
 * @example
 * const publisher = new AedesAlertPublisher();
 * publisher.attach(mqtt.broker);
 * await publisher.publish('tributary/freezers/devices/alerts', '{"type":"tributary.alert"}');
 */
export class AedesAlertPublisher implements AlertPublisher {
  private broker: BrokerLike | undefined;

  attach(broker: BrokerLike): void {
    this.broker = broker;
  }

  publish(topic: string, payload: string): Promise<void> {
    const broker = this.broker;
    if (!broker) return Promise.reject(new Error('the MQTT broker is not running'));
    return new Promise((resolve, reject) =>
      broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload, 'utf8'), qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
    );
  }
}
