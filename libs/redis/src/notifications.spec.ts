import { describe, expect, it } from 'vitest';
import { missingClasses, NotificationsOffError } from './notifications';

describe('missingClasses', () => {
  it('accepts KEA and the explicit list', () => {
    expect(missingClasses('AKE')).toBe('');
    expect(missingClasses('Eg$lshzxet')).toBe('');
  });
  it('names what is missing', () => {
    expect(missingClasses('')).toBe('Eg$lshzxet');
    expect(missingClasses('KA')).toBe('E');
    expect(missingClasses('E$h')).toBe('glszxet');
  });
  it('the error names the exact setting to change', () => {
    const e = new NotificationsOffError('', 'ERR unknown command CONFIG');
    expect(e.message).toContain('notify-keyspace-events KEA');
    expect(e.message).toContain('ERR unknown command CONFIG');
  });
});
