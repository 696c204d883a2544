/**
 * `generate_personas`: six personas (by default) from the company's DNA, stored as drafts; a
 * selection (`POST personas/select/`) makes 3-6 of them active.
 */
import { z } from 'zod';
import type { AnyTaskDefinition } from '../../kit/index.ts';
import { getCompany, getDna } from './companies-store.ts';
import { contentJob } from './job.ts';
import { replaceDraftPersonas } from './personas-store.ts';
import { dnaContext, personasInstructions, personasPrompt } from './prompts.ts';
import { generatedPersona, jobTypes, personasInput } from './schemas.ts';
import { writingModel, type ContentServices } from './services.ts';

export function createPersonasTask(services: ContentServices): AnyTaskDefinition[] {
  const { llm, pool } = services;
  return contentJob(services, {
    jobType: jobTypes.personas,
    input: personasInput,
    async run(context, report) {
      const { input } = context;
      const company = await getCompany(pool, context.tenant, input.company_id);
      const dna = await getDna(pool, context.tenant, company.id);
      report(10, `writing ${input.count} personas`);
      const model = writingModel(services.config);
      const generated = await context.step('personas', async (step) => {
        const answer = await llm.generateStructured({
          ...(model ? { model } : {}),
          schema: z.object({ personas: z.array(generatedPersona).min(input.count).max(input.count) }),
          instructions: personasInstructions,
          prompt: personasPrompt(dnaContext(company, dna?.data), input.count),
          signal: context.signal,
          context: { taskId: context.taskId, step: 'personas' },
        });
        step.emit('personas_generated', { company_id: company.id, personas: answer.object.personas.length, model: answer.model });
        return { personas: answer.object.personas, model: answer.model };
      }, {
        save: (transaction, result) => replaceDraftPersonas(transaction, { tenant: context.tenant, companyId: company.id, taskId: context.taskId }, result.personas),
      });
      report(100, `${generated.personas.length} personas`);
      return { company_id: company.id, personas: generated.personas.length, model: generated.model };
    },
  });
}
