/**
 * The dashboard shell: sign-in gate, header navigation, and the routes.
 */
import { useEffect, useState } from 'preact/hooks';
import { apiKey, onUnauthorized, request, storeApiKey } from './api/client.ts';
import { Link } from './components/link.tsx';
import { pipelinePages } from './lib/pipeline-pages.ts';
import { match, navigate, useLocation } from './lib/router.ts';
import { OverviewPage } from './pages/overview-page.tsx';
import { SignInPage } from './pages/sign-in-page.tsx';
import { StartTaskPage } from './pages/start-task-page.tsx';
import { TaskListPage } from './pages/task-list-page.tsx';
import { TaskPage } from './pages/task-page.tsx';

const navigation = [
  { href: '/', label: 'Overview', active: (path: string) => path === '/' },
  { href: '/tasks', label: 'Tasks', active: (path: string) => path.startsWith('/tasks') },
  { href: '/start', label: 'Start a task', active: (path: string) => path.startsWith('/start') },
  ...pipelinePages.map((page) => page.navigation),
];

function Routes({ path }: { path: string }) {
  let params: Record<string, string> | null;
  if (path === '/') return <OverviewPage />;
  if (path === '/tasks') return <TaskListPage />;
  if ((params = match('/tasks/:id', path))) return <TaskPage taskId={params.id!} />;
  if (path === '/start') return <StartTaskPage />;
  for (const page of pipelinePages) {
    const rendered = page.render(path);
    if (rendered) return rendered;
  }
  return (
    <section class="panel">
      <h1>Page not found</h1>
      <p>Nothing lives at <code>{path}</code>. <Link href="/">Back to the overview</Link>.</p>
    </section>
  );
}

export function App() {
  const location = useLocation();
  const [signedIn, setSignedIn] = useState(() => apiKey() !== null);
  const [tenant, setTenant] = useState<string | null>(null);

  useEffect(() => onUnauthorized(() => {
    storeApiKey(null);
    setSignedIn(false);
  }), []);

  useEffect(() => {
    if (!signedIn) return;
    request<{ tenant: string }>('/api/v1/tenant').then((answer) => setTenant(answer.tenant), () => setTenant(null));
  }, [signedIn]);

  useEffect(() => {
    const page = navigation.find((entry) => entry.active(location.path));
    document.title = signedIn ? `${page?.label ?? 'Task'} · taskloom` : 'Sign in · taskloom';
  }, [location.path, signedIn]);

  if (!signedIn) {
    return (
      <SignInPage
        onSignedIn={(name) => {
          setTenant(name);
          setSignedIn(true);
        }}
      />
    );
  }

  const signOut = (): void => {
    storeApiKey(null);
    setSignedIn(false);
    navigate('/', { replace: true });
  };

  return (
    <div class="shell">
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="topbar">
        <Link href="/" class="brand" aria-label="taskloom overview">
          <span class="brand-mark" aria-hidden="true">⊞</span> taskloom
        </Link>
        <nav aria-label="Main">
          <ul>
            {navigation.map((entry) => (
              <li key={entry.href}>
                <Link href={entry.href} aria-current={entry.active(location.path) ? 'page' : undefined}>{entry.label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="session">
          {tenant ? <span class="tenant" title="Tenant of this API key">tenant <strong>{tenant}</strong></span> : null}
          <button type="button" class="button button-quiet" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes path={location.path} />
      </main>
    </div>
  );
}
