ALTER TABLE "executions" ADD COLUMN "health_score" integer;--> statement-breakpoint
CREATE INDEX "executions_workspace_finished_idx" ON "executions" USING btree ("workspace_id","completed_at") WHERE "executions"."completed_at" is not null;--> statement-breakpoint
CREATE INDEX "tasks_workspace_finished_idx" ON "tasks" USING btree ("workspace_id","completed_at") WHERE "tasks"."status" in ('completed', 'failed');--> statement-breakpoint
ALTER TABLE "executions" ADD CONSTRAINT "executions_health_score_check" CHECK ("executions"."health_score" is null or "executions"."health_score" between 0 and 100);--> statement-breakpoint
-- Executions finished before this migration get the health score they ended with, by the formula of
-- packages/engine/src/health.ts at their end (no task is stalled once an execution has finished).
UPDATE "executions" e SET "health_score" = greatest(0, least(100, round(
  100
  - CASE WHEN s.failed > 0 THEN 10 + 50.0 * s.failed / greatest(s.total, 1) ELSE 0 END
  - CASE WHEN s.retried > 0 THEN least(20, 5 + 15.0 * s.retried / greatest(s.total, 1)) ELSE 0 END
)))
FROM (
  SELECT x.id,
    (SELECT count(*) FROM "tasks" t WHERE t.execution_id = x.id) AS total,
    (SELECT count(*) FROM "tasks" t WHERE t.execution_id = x.id AND t.status = 'failed') AS failed,
    (SELECT count(*) FROM "tasks" t WHERE t.execution_id = x.id AND t.retry_count > 0) AS retried
  FROM "executions" x
  WHERE x.completed_at IS NOT NULL AND x.status IN ('completed', 'failed', 'cancelled')
) s
WHERE e.id = s.id;
