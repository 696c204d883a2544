/**
 * Projects the smart metadata tests share.
 */
import type { Project } from '../../src/pipelines/smart-metadata/projects-store.ts';
import type { ProjectCreate } from '../../src/pipelines/smart-metadata/schemas.ts';

export function projectFixture(overrides: Partial<Project> = {}): Project {
  return {
    id: '00000000-0000-4000-8000-000000000000',
    name: 'A project',
    project_type: 'self_study',
    course_name: null,
    course_code: null,
    teacher: null,
    goal_description: null,
    study_frequency: null,
    is_draft: false,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    files: [],
    important_dates: [],
    ...overrides,
  };
}

/** The body of a self-study project about neural networks in Python (POST /api/projects). */
export const neuralNetworksBody: ProjectCreate = {
  name: 'Neural Networks in Python',
  project_type: 'self_study',
  goal_description: 'I want to understand how neural networks work and implement them from scratch in Python. I will build a small neural network with NumPy, then train convolutional neural networks with PyTorch on image classification tasks.',
  study_frequency: '3 times a week',
  is_draft: false,
  files: [{
    name: 'backpropagation_notes.pdf',
    extracted_text: 'Backpropagation computes the gradient of the loss with respect to every weight in the network. Gradient descent then updates the weights of the neural network. In Python, NumPy arrays make the matrix multiplications of a layer short to write. Activation functions such as ReLU and sigmoid add non-linearity to neural networks. PyTorch computes gradients automatically with autograd, so Python code stays short.',
  }],
  important_dates: [{ title: 'Final project demo', date: '2026-03-01' }],
};

export function neuralNetworksProject(): Project {
  return projectFixture({ ...neuralNetworksBody, goal_description: neuralNetworksBody.goal_description ?? null, study_frequency: neuralNetworksBody.study_frequency ?? null });
}
