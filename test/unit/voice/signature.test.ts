/** X-Twilio-Signature: the provider's documented test vector, and the SDK's own validateRequest agrees. */
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { twilioSignature } from '../../../src/voice/signature.js';

describe('twilioSignature', () => {
  const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675310', Digits: '1234', From: '+14158675310', To: '+18005551212' };

  it('matches the documented example', () => {
    expect(twilioSignature('12345', 'https://example.com/myapp.php?foo=1&bar=2', params)).toBe('L/OH5YylLD5NRKLltdqwSvS0BnU=');
  });

  it('validates with the official SDK, POST and GET, and fails with another token or URL', () => {
    const url = 'http://127.0.0.1:8080/voice?campaign=7';
    const sig = twilioSignature('tok-123456', url, params);
    expect(twilio.validateRequest('tok-123456', sig, url, params)).toBe(true);
    expect(twilio.validateRequest('tok-654321', sig, url, params)).toBe(false);
    expect(twilio.validateRequest('tok-123456', sig, 'http://127.0.0.1:8080/voice', params)).toBe(false);
    const get = `${url}&CallSid=CA1`;
    expect(twilio.validateRequest('tok-123456', twilioSignature('tok-123456', get), get, {})).toBe(true);
  });
});
