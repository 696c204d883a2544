-- A generation task's final failure is recorded once, by whichever comes first of its handler and
-- its type's failure handler (a worker that died on its last attempt runs none of the handler's
-- code); each looks the task's failure up first, through this index.
CREATE INDEX project_meta_generations_failed_task ON project_meta_generations (task_id) WHERE status = 'failure';
