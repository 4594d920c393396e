import { describe, expect, it } from 'vitest';
import { EPOCH_CURSOR, parseDefinition, parseDefinitionPatch } from '../../shared/domain/seed-dialect';
import { newStream, parseStreamInput } from '../../shared/domain/stream-definition';
import { documentDefinition } from '../fixtures/data-streams';
import { issuesOf } from '../fixtures/domain';

const NOW = new Date('2026-03-01T12:00:00Z');

describe('parseDefinition (the documents\' dialect)', () => {
  it('reads the Temperature Monitoring sensor stream: ranges as lists, vault, device, processing', () => {
    const input = parseDefinition(documentDefinition('temperature-monitoring'));
    expect(input.schema.temperature).toEqual({ type: 'number', unit: 'celsius', range: { min: -40, max: 100 } });
    expect(input.schema.location).toEqual({ type: 'string', enum: ['warehouse', 'office', 'production'] });
    expect(input.schema.timestamp).toEqual({ type: 'datetime', required: true });
    expect(input.vaultId).toBe('vault_abc123');
    expect(input.validation).toBe('strict');
    expect(input.defaultQuery).toEqual({ granularity: '1m', downsamplers: ['mean'] });
    expect(input.device).toMatchObject({ deviceId: 'TEMP-SENSOR-001', protocol: 'mqtt', topic: 'sensors/temperature/facility-a' });
    expect(input.schema.deviceId).toEqual({ type: 'string' });
    expect(input.dimensions).toEqual(['deviceId']);
    const stream = newStream(input, NOW, () => 'abc123');
    expect(stream.alerts?.map((r) => r.when)).toEqual([
      { field: 'temperature', outside: [18, 26] },
      { field: 'humidity', outside: [40, 60] },
    ]);
    // the password is not kept by the domain: the streams function stores its hash
    expect(JSON.stringify(stream)).not.toContain('sensor_pass');
  });

  it('reads processing.pipeline (the Live Data Handler) and a pushed stream’s JavaScript processing.transform as the canonical pipeline', () => {
    const filter = { name: 'validation', type: 'filter', config: { rules: [{ field: 'temperature', operator: 'range', value: [-50, 150] }] } };
    const script = 'function transform(data) { data.temperature = data.temperature + 1; return data; }';
    const input = parseDefinition({
      name: 'Live',
      type: 'iot_sensor',
      schema: { temperature: { type: 'number', unit: 'celsius' }, timestamp: { type: 'datetime' } },
      processing: { pipeline: [filter], transform: script },
    });
    expect(input.pipeline).toEqual([{ ...filter, config: { ...filter.config, match: 'all' } }, { name: 'transform', type: 'transform', config: { script } }]);
    // an error inside it is reported where the body wrote it
    expect(
      issuesOf(() =>
        parseDefinition({ name: 'Live', type: 'iot_sensor', schema: { temperature: { type: 'number' } }, processing: { pipeline: [{ type: 'filter', config: { rules: [{ field: 'temperature', operator: 'range', value: [9, 1] }] } }] } }),
      ),
    ).toEqual([{ path: ['processing', 'pipeline', 0, 'config', 'rules', 0, 'value'], message: 'the range operator needs a value [min, max] of two numbers, min ≤ max' }]);
    // a JSONata transform stays a pull's
    expect(issuesOf(() => parseDefinition({ name: 'Live', type: 'iot_sensor', schema: { t: { type: 'number' } }, processing: { transform: 'data[]' } }))).toEqual([
      { path: ['processing', 'transform'], message: expect.stringMatching(/^for pushed records, write the transform as a JavaScript function/) },
    ]);
  });

  it('reads the Financial Data Feed pull: endpoint as url, Unix cron as EventBridge, a 30 s timeout, ${NAME} as a secret', () => {
    const def = documentDefinition('financial-data-feed');
    const { transform: _js, ...processing } = def.processing;
    const input = parseDefinition({ ...def, processing });
    expect(input.source).toMatchObject({
      kind: 'api_pull',
      url: 'https://api.company.com/financial/accounts',
      method: 'GET',
      headers: { Authorization: 'Bearer ${secret:API_TOKEN}', 'Content-Type': 'application/json' },
      schedule: 'cron(0 0/6 * * ? *)',
      timeoutMs: 30_000,
      dedupe: { key: ['accountId', 'balance', 'currency', 'lastTransaction', 'status'] },
    });
  });

  it('reads the Inventory Sync database stream: engine, username, the $1 parameter, snake_case columns', () => {
    const input = parseDefinition(documentDefinition('inventory-sync'));
    expect(input.source).toMatchObject({
      kind: 'database',
      engine: 'postgresql',
      connection: { host: 'db.company.com', port: 5432, database: 'inventory', user: '${secret:DB_USER}', password: '${secret:DB_PASS}', ssl: true },
      schedule: 'cron(0/15 * * * ? *)',
      incrementalColumn: 'last_updated',
      initialCursor: EPOCH_CURSOR,
      mapping: { productId: 'product_id', quantityOnHand: 'quantity_on_hand', lastUpdated: 'last_updated', supplierId: 'supplier_id' },
    });
    expect(input.schema.quantityOnHand).toEqual({ type: 'number', range: { min: 0 } });
    // no dimensions given: the required string fields identify a series
    expect(input.dimensions).toEqual(['productId', 'location']);
  });

  it('reads the Manufacturing Events stream: a webhook with a secret reference, one schema per event type', () => {
    const input = parseDefinition(documentDefinition('manufacturing-events'));
    expect(input.webhook).toEqual({ authentication: 'hmac-sha256', secret: '${secret:WEBHOOK_SECRET}' });
    expect(input.schema.eventType).toEqual({ type: 'string', enum: ['production_started', 'quality_check', 'batch_completed'], required: true });
    expect(input.schema.quantity).toEqual({ type: 'number', range: { min: 1 } });
    expect(input.eventTypes?.quality_check).toEqual({
      fields: ['batchId', 'testType', 'result', 'metrics', 'inspector', 'timestamp'],
      required: ['batchId', 'testType', 'timestamp'],
    });
    expect(input.dimensions).toEqual(['eventType']);
  });

  it('reads the SDK and curl examples and the configuration update', () => {
    const env = parseDefinition(documentDefinition('environmental-monitoring'));
    expect(env.defaultQuery).toEqual({ granularity: '30s', downsamplers: ['last'] });
    expect(env.alerts).toEqual([expect.objectContaining({ name: 'co2 greater_than', when: { field: 'co2', op: '>', value: 1000 } })]);
    expect(parseDefinition(documentDefinition('basic-stream-creation')).vaultId).toBe('vault_abc123');
    const stream = newStream(env, NOW, () => 'abc123');
    const patch = parseDefinitionPatch(documentDefinition('update-stream-configuration'), stream);
    expect(patch.defaultQuery).toEqual({ granularity: '1m', downsamplers: ['mean'] });
    expect(patch.alerts).toEqual([expect.objectContaining({ when: { field: 'temperature', outside: [18, 28] } })]);
  });

  it('passes a canonical definition through as it is', () => {
    const canonical = {
      name: 'Freezers',
      type: 'api_pull',
      schema: { t: { type: 'number', range: { min: -50, max: 50 } } },
      source: { kind: 'api_pull', url: 'https://x.example/a', schedule: 'rate(5 minutes)' },
    };
    expect(parseDefinition(canonical)).toEqual(parseStreamInput(canonical));
  });

  it('still refuses any other key, at the path the client wrote it', () => {
    const def = documentDefinition('temperature-monitoring');
    const issues = issuesOf(() =>
      parseDefinition({ ...def, colour: 'blue', source: { ...def.source, qos: 1 }, processing: { ...def.processing, window: '5m' }, schema: { ...def.schema, humidity: { type: 'number', range: [0] } } }),
    );
    expect(issues).toContainEqual({ path: [], message: expect.stringContaining('"colour"') });
    expect(issues).toContainEqual({ path: ['source'], message: expect.stringContaining('"qos"') });
    expect(issues).toContainEqual({ path: ['processing', 'window'], message: expect.any(String) });
    expect(issues).toContainEqual({ path: ['schema', 'humidity', 'range'], message: 'as a list, a range is [min, max]' });
  });

  it('reports canonical problems at the aliased path', () => {
    const def = documentDefinition('financial-data-feed');
    const issues = issuesOf(() => parseDefinition({ ...def, processing: {}, source: { ...def.source, endpoint: 'ftp://x', timeout: 31_000 } }));
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining([['source', 'endpoint'], ['source', 'timeout']]));
    const range = issuesOf(() => parseDefinition({ name: 'T', type: 'iot_sensor', schema: { t: { type: 'number', range: [5, 1] } } }));
    expect(range).toContainEqual({ path: ['schema', 't', 'range'], message: 'range.min must not exceed range.max' });
  });

  it('refuses a Unix cron that restricts both day fields, and a literal webhook secret', () => {
    const def = documentDefinition('financial-data-feed');
    expect(issuesOf(() => parseDefinition({ ...def, processing: {}, source: { ...def.source, schedule: '0 0 1 * 1' } }))).toContainEqual({
      path: ['source', 'schedule'],
      message: expect.stringContaining('either'),
    });
    const events = documentDefinition('manufacturing-events');
    expect(issuesOf(() => parseDefinition({ ...events, source: { ...events.source, secret: 'hunter2-in-clear' } }))).toContainEqual({
      path: ['source', 'secret'],
      message: expect.stringContaining('secret reference'),
    });
  });

  it('takes the Occupancy Monitoring integration example as an iot_sensor subscribing to the building broker, its domain kept as a tag', () => {
    const input = parseDefinition(documentDefinition('occupancy-monitoring'));
    expect(input).toMatchObject({
      type: 'iot_sensor',
      tags: { category: 'occupancy' },
      dimensions: ['zone'],
      subscription: { url: 'mqtt://building.sensors.com:1883', topics: ['building/hq/occupancy/+/count', 'building/hq/access/+/events'], qos: 1, allowPrivateTargets: false },
    });
  });

  it('takes the Production Line integration example as an iot_sensor polled over Modbus TCP every 10 s, each register in its camelCase field', () => {
    const input = parseDefinition(documentDefinition('production-line'));
    expect(input).toMatchObject({ type: 'iot_sensor', tags: { category: 'manufacturing' }, dimensions: [], validation: 'strict' });
    expect(input.source).toEqual({
      kind: 'modbus_tcp',
      host: 'line-7.factory.com',
      port: 502,
      unitId: 1,
      registers: {
        productionCount: { address: 40001 },
        lineSpeed: { address: 40002 },
        qualityStatus: { address: 40003 },
        temperature: { address: 40004 },
        pressure: { address: 40005 },
      },
      schedule: 'rate(10 seconds)',
      timeoutMs: 5_000,
      allowPrivateTargets: true,
    });
    // the frequency is the poll interval: the records are read back as polled, not in 10 s means
    expect(input.defaultQuery).toBeUndefined();
  });

  it('takes the HVAC Monitoring integration example, which gives no schema, as an iot_sensor polled over BACnet: a number field per point', () => {
    const def = documentDefinition('hvac-monitoring');
    delete def.processing.alerting; // its baseline alert is not this test's
    const input = parseDefinition(def);
    expect(input.schema).toEqual({
      zone1Temperature: { type: 'number' },
      zone1Humidity: { type: 'number' },
      zone1Setpoint: { type: 'number' },
      energyConsumption: { type: 'number' },
      systemStatus: { type: 'number' },
      timestamp: { type: 'datetime', required: true },
    });
    expect(input).toMatchObject({ type: 'iot_sensor', tags: { category: 'building_systems' } });
    expect(input.source).toMatchObject({
      kind: 'bacnet',
      device: 'BAC-HVAC-hq',
      points: { zone1Temperature: 'Zone1.Temperature', zone1Humidity: 'Zone1.Humidity', zone1Setpoint: 'Zone1.Setpoint', energyConsumption: 'System.Energy.Consumption', systemStatus: 'System.Status' },
      schedule: 'rate(5 minutes)',
    });
  });

  it('takes the HVAC Monitoring example whole, its baseline alert on the energyConsumption field its points make', () => {
    const input = parseDefinition(documentDefinition('hvac-monitoring'));
    expect(input.alerts).toEqual([expect.objectContaining({ name: 'energyConsumption greater_than', when: expect.objectContaining({ field: 'energyConsumption', op: '>' }) })]);
    expect(input).not.toHaveProperty('learnSchema');
  });

  it('refuses a register that fills no schema field, a coil address and a string field without an enum, each at the register the client wrote', () => {
    const line = documentDefinition('production-line');
    const issues = issuesOf(() =>
      parseDefinition({
        ...line,
        schema: { ...line.schema, pressure: { type: 'string' } },
        source: { ...line.source, registers: { ...line.source.registers, spindle_rpm: 40010, temperature: 10004 } },
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: ['source', 'registers', 'spindle_rpm'], message: expect.stringContaining("no schema field 'spindle_rpm' or 'spindleRpm'") },
        { path: ['source', 'registers', 'temperature'], message: expect.stringContaining('coils (0xxxx) and discrete inputs (1xxxx) are bits') },
        { path: ['source', 'registers', 'pressure'], message: expect.stringContaining('only with an enum') },
      ]),
    );
    expect(issues).toHaveLength(3);
  });

  it('refuses another protocol and an endpoint that is not plc://host:port, once each', () => {
    const line = documentDefinition('production-line');
    const issues = issuesOf(() => parseDefinition({ ...line, source: { ...line.source, protocol: 'profinet', endpoint: 'https://line-7.factory.com' } }));
    expect(issues).toEqual([
      { path: ['source', 'protocol'], message: expect.stringContaining('modbus_tcp') },
      { path: ['source', 'endpoint'], message: 'must be plc://host:port (port 502 when left out)' },
    ]);
  });

  it('takes BACnet points as an object with the fields named as written, and asks for one when two listed points name one field', () => {
    const def = { name: 'AHU', type: 'building_systems', source: { type: 'bacnet', device: 'AHU-1', address: '10.1.2.3', points: { supply: 'AHU1.SA.Temp', fan: 'AHU1.Fan.Status' } }, processing: { frequency: '1m' } };
    expect(parseDefinition(def).source).toMatchObject({ kind: 'bacnet', address: '10.1.2.3', points: { supply: 'AHU1.SA.Temp', fan: 'AHU1.Fan.Status' }, schedule: 'rate(1 minute)' });
    expect(Object.keys(parseDefinition(def).schema)).toEqual(['supply', 'fan', 'timestamp']);
    const clash = issuesOf(() => parseDefinition({ ...def, source: { ...def.source, points: ['Zone1.Temperature', 'Building.Zone1.Temperature'] } }));
    expect(clash).toEqual([{ path: ['source', 'points', 1], message: expect.stringContaining("both name the field 'zone1Temperature'") }]);
  });

  it('changes how often a device is polled on a patch of processing.frequency alone, its source otherwise as it is', () => {
    const stream = newStream(parseDefinition(documentDefinition('production-line')), NOW, () => 'abc123');
    const patch = parseDefinitionPatch({ processing: { frequency: '30s' } }, stream);
    expect(patch.source).toEqual({ ...stream.source, schedule: 'rate(30 seconds)' });
    expect(patch.defaultQuery).toBeUndefined();
    expect(issuesOf(() => parseDefinitionPatch({ processing: { frequency: '2s' } }, stream))).toEqual([{ path: ['processing', 'frequency'], message: expect.stringContaining('5 to 59 seconds') }]);
  });

  it('asks a polled device for processing.frequency', () => {
    const { processing: _p, ...line } = documentDefinition('production-line');
    expect(issuesOf(() => parseDefinition(line))).toContainEqual({ path: ['processing', 'frequency'], message: expect.stringContaining('a polled device needs processing.frequency') });
  });

  it('takes the Energy Management example, which gives no schema, as a stream that learns it, with its bearer token and its transformation', () => {
    const input = parseDefinition(documentDefinition('energy-management'));
    expect(input).toMatchObject({
      type: 'api_pull',
      schema: {},
      learnSchema: true,
      source: { kind: 'api_pull', url: 'https://api.energy.com/buildings/hq/meters', schedule: 'cron(0/15 * * * ? *)', headers: { authorization: 'Bearer ${secret:ENERGY_MANAGEMENT_TOKEN}' } },
      pipeline: [{ name: 'cost_calculation', type: 'transform', config: { script: expect.stringMatching(/^function calculateCost\(data\) \{/) } }],
    });
  });

  it('refuses an authentication it does not know, and a bearer token next to an Authorization header', () => {
    const def = documentDefinition('energy-management');
    expect(issuesOf(() => parseDefinition({ ...def, source: { ...def.source, authentication: 'oauth2' } }))).toEqual([{ path: ['source', 'authentication'], message: expect.stringContaining('must be "bearer_token"') }]);
    expect(issuesOf(() => parseDefinition({ ...def, source: { ...def.source, headers: { Authorization: 'Bearer ${API_TOKEN}' } } }))).toEqual([
      { path: ['source', 'authentication'], message: 'give authentication or an Authorization header, not both' },
    ]);
  });

  it('reports a bad transformation at the place written', () => {
    const def = documentDefinition('energy-management');
    expect(issuesOf(() => parseDefinition({ ...def, processing: { transformations: [{ name: 'x', function: 'data.cost = 1' }] } }))).toEqual([
      { path: ['processing', 'transformations', 0, 'function'], message: expect.stringContaining('must be a JavaScript function') },
    ]);
  });
});

describe('the document\'s alert shapes', () => {
  const stream = newStream(parseDefinition({ ...documentDefinition('environmental-monitoring'), schema: { ...documentDefinition('environmental-monitoring').schema, equipmentHours: { type: 'number' }, maintenanceThreshold: { type: 'number' }, location: { type: 'string' } } }), NOW, () => 'abc123');

  it('translates the setAlerts example as written: condition text, email recipients, template and data, webhook payload, create_ticket on a named system', () => {
    const patch = parseDefinitionPatch(documentDefinition('alert-config'), { ...stream, id: 'stream_xyz789' });
    expect(patch.alerts).toEqual([
      {
        name: 'high_temperature_alert',
        severity: 'critical',
        cooldown: '15m',
        when: { field: 'temperature', op: '>', value: 30 },
        actions: [
          {
            type: 'email',
            to: ['facilities@company.com'],
            subject: '[{{alert.severity}}] {{alert.rule}} (high_temperature)',
            message: expect.stringContaining('location: {{data.location}}\ntemperature: {{data.temperature}}'),
          },
          { type: 'webhook', url: 'https://api.company.com/alerts', body: JSON.stringify({ type: 'environmental', severity: 'critical', message: 'Temperature exceeded safe threshold' }) },
        ],
      },
      {
        name: 'equipment_maintenance_due',
        severity: 'warning',
        cooldown: '5m',
        when: { expression: '`equipmentHours` > `maintenanceThreshold`' },
        actions: [{ type: 'ticket', system: 'maintenance_system', priority: 'medium', assignee: 'maintenance_team' }],
      },
    ]);
  });

  it('refuses a create_ticket that names neither a url nor a system, and a key no action has', () => {
    const config = documentDefinition('alert-config');
    delete config.rules[1].actions[0].system;
    config.rules[0].actions[0].cc = ['boss@company.com'];
    expect(issuesOf(() => parseDefinitionPatch(config, { ...stream, id: 'stream_xyz789' })).map((i) => i.path)).toEqual([
      ['rules', 0, 'actions', 0, 'cc'],
      ['rules', 1, 'actions', 0, 'url'],
    ]);
  });

  it('translates processing.alerting: equals on a string, less_than, and a baseline', () => {
    const line = documentDefinition('production-line');
    const input = parseDefinition({ ...line, type: 'iot_sensor', source: undefined });
    expect(input.alerts).toEqual([
      expect.objectContaining({ name: 'qualityStatus equals', severity: 'critical', when: { expression: '`qualityStatus` = "error"' } }),
      expect.objectContaining({ name: 'lineSpeed less_than', severity: 'warning', when: { field: 'lineSpeed', op: '<', value: 50 } }),
    ]);
    const energy = { ...stream, schema: { ...stream.schema, energyConsumption: { type: 'number' as const } } };
    const hvac = parseDefinitionPatch({ processing: documentDefinition('hvac-monitoring').processing }, energy);
    expect(hvac.alerts).toEqual([
      expect.objectContaining({ name: 'energyConsumption greater_than', when: { field: 'energyConsumption', op: '>', baseline: { agg: 'avg', over: '7d', factor: 1.2, offset: 0 } } }),
    ]);
  });

  it.each([
    ['historical_average', { factor: 1, offset: 0 }],
    ['historical_average * 1.2', { factor: 1.2, offset: 0 }],
    ['1.5 * historical_average', { factor: 1.5, offset: 0 }],
    ['historical_average + 5', { factor: 1, offset: 5 }],
    ['historical_average - 2.5', { factor: 1, offset: -2.5 }],
  ])('reads the baseline %s', (text, expected) => {
    const energy = { ...stream, schema: { ...stream.schema, energyConsumption: { type: 'number' as const } } };
    const patch = parseDefinitionPatch({ processing: { alerting: { energyConsumption: { condition: 'greater_than', baseline: text } } } }, energy);
    expect((patch.alerts![0]!.when as any).baseline).toMatchObject(expected);
  });

  it.each(['historical_max', '2 * historical_average * 3', 'historical_average / 2', ''])('refuses the baseline %j by path', (text) => {
    const energy = { ...stream, schema: { ...stream.schema, energyConsumption: { type: 'number' as const } } };
    expect(issuesOf(() => parseDefinitionPatch({ processing: { alerting: { energyConsumption: { condition: 'greater_than', baseline: text } } } }, energy))).toEqual([
      { path: ['processing', 'alerting', 'energyConsumption', 'baseline'], message: expect.stringContaining('must read') },
    ]);
  });
});

describe('a patch of the processing alone', () => {
  it('changes the pull stream\'s source as it is: a JavaScript transform replaces a JSONata one', () => {
    const def = documentDefinition('financial-data-feed');
    const stream = newStream(parseDefinition({ ...def, processing: { transform: 'accounts[]' } }), NOW, () => 'abc123');
    expect(stream.source).toMatchObject({ transform: 'accounts[]' });
    const patch = parseDefinitionPatch({ processing: { transform: def.processing.transform } }, stream);
    expect(patch.source).toMatchObject({ kind: 'api_pull', url: 'https://api.company.com/financial/accounts', script: expect.stringContaining('function transform(apiData)') });
    expect(patch.source).not.toHaveProperty('transform');
  });
});
