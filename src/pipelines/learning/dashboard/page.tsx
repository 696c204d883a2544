/**
 * The learning pipeline's dashboard page (seed 004's page): start a big learning job, watch its
 * status, progress, words learned and live event log, and browse the knowledge base.
 */
import type { DashboardPage } from '@dashboard/lib/pipeline-pages.ts';
import { match } from '@dashboard/lib/router.ts';
import { LearningPage } from './learning-page.tsx';

export const page: DashboardPage = {
  navigation: { href: '/learning', label: 'Learning', active: (path) => path.startsWith('/learning') },
  render(path) {
    if (path === '/learning') return <LearningPage />;
    const params = match('/learning/jobs/:id', path);
    return params ? <LearningPage jobId={params.id!} /> : null;
  },
};
