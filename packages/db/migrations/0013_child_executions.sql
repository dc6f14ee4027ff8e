ALTER TABLE "executions" DROP CONSTRAINT "executions_trigger_check";--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "parent_execution_id" text;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "parent_task_id" text;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "parent_attempt" integer;--> statement-breakpoint
ALTER TABLE "executions" ADD CONSTRAINT "executions_parent_execution_id_executions_id_fk" FOREIGN KEY ("parent_execution_id") REFERENCES "public"."executions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "executions" ADD CONSTRAINT "executions_parent_task_id_tasks_id_fk" FOREIGN KEY ("parent_task_id") REFERENCES "public"."tasks"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "executions_parent_task_attempt_unique" ON "executions" USING btree ("parent_task_id","parent_attempt") WHERE "executions"."parent_task_id" is not null;--> statement-breakpoint
CREATE INDEX "executions_parent_idx" ON "executions" USING btree ("parent_execution_id") WHERE "executions"."parent_execution_id" is not null;--> statement-breakpoint
ALTER TABLE "executions" ADD CONSTRAINT "executions_trigger_check" CHECK (trigger in ('api', 'schedule', 'retry', 'parent'));