ALTER TABLE "executions" ADD COLUMN "stats_emitted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "key" text NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "job_id" text;--> statement-breakpoint
CREATE INDEX "tasks_workspace_active_idx" ON "tasks" USING btree ("workspace_id") WHERE "tasks"."status" in ('assigned', 'in_progress');