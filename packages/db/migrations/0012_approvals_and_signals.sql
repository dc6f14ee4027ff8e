CREATE TABLE "approvals" (
	"task_id" text PRIMARY KEY NOT NULL,
	"execution_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"prompt" text NOT NULL,
	"details" jsonb,
	"status" text DEFAULT 'pending' NOT NULL,
	"on_timeout" text DEFAULT 'reject' NOT NULL,
	"timeout_at" timestamp with time zone,
	"answered_by" text,
	"comment" text,
	"answered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "approvals_status_check" CHECK (status in ('pending', 'approved', 'rejected', 'timed_out')),
	CONSTRAINT "approvals_on_timeout_check" CHECK (on_timeout in ('reject', 'approve')),
	CONSTRAINT "approvals_answered_check" CHECK (("approvals"."status" = 'pending') = ("approvals"."answered_at" is null))
);
--> statement-breakpoint
CREATE TABLE "execution_signals" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"execution_id" text NOT NULL,
	"name" text NOT NULL,
	"payload" jsonb,
	"sent_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signal_waits" (
	"task_id" text PRIMARY KEY NOT NULL,
	"execution_id" text NOT NULL,
	"name" text NOT NULL,
	"deadline" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_answered_by_users_id_fk" FOREIGN KEY ("answered_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "execution_signals" ADD CONSTRAINT "execution_signals_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "execution_signals" ADD CONSTRAINT "execution_signals_sent_by_users_id_fk" FOREIGN KEY ("sent_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signal_waits" ADD CONSTRAINT "signal_waits_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signal_waits" ADD CONSTRAINT "signal_waits_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "approvals_pending_idx" ON "approvals" USING btree ("workspace_id","created_at") WHERE "approvals"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "approvals_execution_idx" ON "approvals" USING btree ("execution_id");--> statement-breakpoint
CREATE INDEX "execution_signals_name_idx" ON "execution_signals" USING btree ("execution_id","name","id");--> statement-breakpoint
CREATE INDEX "signal_waits_name_idx" ON "signal_waits" USING btree ("execution_id","name");