import { describe, expect, it } from 'vitest';
import { redisProblem } from './preflight';

describe('redisProblem', () => {
  it('tells a missing password, a wrong one and a needless one apart, none worth retrying', () => {
    const noauth = redisProblem(new Error('NOAUTH Authentication required.'));
    expect(noauth).toMatchObject({ permanent: true });
    expect(noauth.problem).toContain('requires a password');
    expect(noauth.fix).toContain('REDIS_URL: redis://:PASSWORD@host:port');

    const wrong = redisProblem(new Error('WRONGPASS invalid username-password pair or user is disabled.'));
    expect(wrong).toMatchObject({ permanent: true });
    expect(wrong.problem).toMatch(/^authentication failed/);

    const needless = redisProblem(
      new Error('ERR AUTH <password> called without any password configured for the default user.'),
    );
    expect(needless.fix).toBe('remove the password from REDIS_URL');
  });

  it('retries an unreachable server and says how to get one', () => {
    const refused = redisProblem(new Error('connect ECONNREFUSED 127.0.0.1:6390'), 'REDIS_REPLICA_URL');
    expect(refused).toMatchObject({
      permanent: false,
      problem: 'unreachable (connect ECONNREFUSED 127.0.0.1:6390)',
    });
    expect(refused.fix).toContain('REDIS_REPLICA_URL');
    expect(redisProblem(new Error('getaddrinfo ENOTFOUND redis.invalid')).problem).toMatch(/^host not found/);
  });

  it('names a port where something else answers', () => {
    const other = redisProblem(new Error('Protocol error, got "H" as reply type byte. Please report this.'));
    expect(other).toMatchObject({ permanent: true });
    expect(other.problem).toMatch(/not Redis/);
  });
});
