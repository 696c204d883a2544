/**
 * Sign-in with an API key. The key is checked against the API before it is kept (in
 * sessionStorage, for this tab only).
 */
import { useState } from 'preact/hooks';
import { ApiError, request, storeApiKey } from '../api/client.ts';

export function SignInPage({ onSignedIn }: { onSignedIn: (tenant: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await request<{ tenant: string }>('/api/v1/tenant', { key: trimmed });
      storeApiKey(trimmed);
      onSignedIn(answer.tenant);
    } catch (failure) {
      const apiError = failure as ApiError;
      setError(apiError.status === 401 ? 'This API key is not valid (unknown or revoked).' : apiError.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <form class="panel sign-in-panel" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title"><span class="brand-mark" aria-hidden="true">⊞</span> taskloom</h1>
        <p>Sign in with an API key. <code>taskloom serve</code> prints the default tenant's key on first start; <code>taskloom keys create --tenant NAME</code> makes more.</p>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={key}
          onInput={(event) => setKey((event.currentTarget as HTMLInputElement).value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'api-key-error' : 'api-key-help'}
        />
        <p id="api-key-help" class="help">Kept in this browser tab only (sessionStorage) and sent as the X-API-Key header.</p>
        {error ? <p id="api-key-error" class="field-error" role="alert">{error}</p> : null}
        <button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
