CREATE TABLE "queue_clocks" (
	"queue" text NOT NULL,
	"workspace_id" text NOT NULL,
	"finish" bigint NOT NULL,
	CONSTRAINT "queue_clocks_queue_workspace_id_pk" PRIMARY KEY("queue","workspace_id")
);
--> statement-breakpoint
DROP INDEX "tasks_workspace_active_idx";--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "ordinal" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "queue_tag" bigint;--> statement-breakpoint
ALTER TABLE "queue_clocks" ADD CONSTRAINT "queue_clocks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "queue_clocks_finish_idx" ON "queue_clocks" USING btree ("queue","finish");--> statement-breakpoint
CREATE INDEX "tasks_job_idx" ON "tasks" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "tasks_queued_idx" ON "tasks" USING btree ("execution_id","agent_type","queue_tag") WHERE "tasks"."status" = 'assigned';