import { describe, expect, it } from 'vitest';
import { CLOUDEVENTS_CONTENT_TYPE, toKafkaMessage } from '../../src/gateways/broker-kafka.js';

describe('Kafka message mapping', () => {
  it('keys a message by its aggregate, carries the structured CloudEvent as the value, and repeats its id and type as headers', () => {
    const body = JSON.stringify({ specversion: '1.0', id: 'e-1', type: 'com.tessera.payment.completed', source: '/tessera', data: {} });
    expect(toKafkaMessage({ id: 'e-1', type: 'com.tessera.payment.completed', key: 'pay-1', body })).toEqual({
      key: 'pay-1',
      value: body,
      headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE, ce_id: 'e-1', ce_type: 'com.tessera.payment.completed' },
    });
  });
});
