CREATE TABLE "queue_clocks" (
	"queue" text NOT NULL,
	"workspace_id" text NOT NULL,
	"priority" text NOT NULL,
	"finish" bigint NOT NULL,
	CONSTRAINT "queue_clocks_queue_workspace_id_priority_pk" PRIMARY KEY("queue","workspace_id","priority"),
	CONSTRAINT "queue_clocks_priority_check" CHECK (priority in ('high', 'medium', 'low'))
);
--> statement-breakpoint
ALTER TABLE "queue_clocks" ADD CONSTRAINT "queue_clocks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "queue_clocks_finish_idx" ON "queue_clocks" USING btree ("queue","finish");