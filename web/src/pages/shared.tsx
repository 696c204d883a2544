import type { ApiError } from '../api/client.ts';

export function ErrorNotice({ error, action }: { error: ApiError | undefined | null; action?: string }) {
  if (!error) return null;
  return (
    <div class="notice notice-error" role="alert">
      <strong>{action ? `${action}: ` : ''}{error.code === 'network_error' ? 'connection problem' : error.code}</strong> {error.message}
    </div>
  );
}
