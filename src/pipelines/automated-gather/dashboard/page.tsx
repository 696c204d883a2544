/**
 * The automated gather's dashboard page: the projects that ran a gather, and one project's
 * departments, quality per iteration, items and evaluations, live.
 */
import type { DashboardPage } from '@dashboard/lib/pipeline-pages.ts';
import { match } from '@dashboard/lib/router.ts';
import { GatherIndexPage, GatherPage } from './gather-page.tsx';

export const page: DashboardPage = {
  navigation: { href: '/gather', label: 'Gather', active: (path) => path.startsWith('/gather') || path.startsWith('/projects/') },
  render(path) {
    if (path === '/gather') return <GatherIndexPage />;
    const params = match('/projects/:id/gather', path);
    return params ? <GatherPage projectId={params.id!} /> : null;
  },
};
