CREATE TABLE "maintenance_runs" (
	"name" text PRIMARY KEY NOT NULL,
	"last_run_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "events_pruned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "skip_reason" text;--> statement-breakpoint
CREATE INDEX "executions_retention_idx" ON "executions" USING btree ("completed_at") WHERE "executions"."completed_at" is not null and "executions"."events_pruned_at" is null;--> statement-breakpoint
CREATE INDEX "sessions_expires_idx" ON "sessions" USING btree ("expires_at");