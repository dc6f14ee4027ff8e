CREATE TABLE "schedule_runs" (
	"schedule_id" text NOT NULL,
	"tick_at" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"execution_id" text,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "schedule_runs_schedule_id_tick_at_pk" PRIMARY KEY("schedule_id","tick_at"),
	CONSTRAINT "schedule_runs_status_check" CHECK (status in ('started', 'missed', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"strategy_id" text NOT NULL,
	"cron" text,
	"run_at" timestamp with time zone,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"input" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"next_run_at" timestamp with time zone,
	"last_run_at" timestamp with time zone,
	"last_execution_id" text,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "schedules_when_check" CHECK (("schedules"."cron" is null) <> ("schedules"."run_at" is null))
);
--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "input" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "trigger" text DEFAULT 'api' NOT NULL;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "schedule_id" text;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "retry_of" text;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "input_schema" jsonb;--> statement-breakpoint
ALTER TABLE "strategy_versions" ADD COLUMN "input_schema" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "reused" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "schedule_runs" ADD CONSTRAINT "schedule_runs_schedule_id_schedules_id_fk" FOREIGN KEY ("schedule_id") REFERENCES "public"."schedules"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedule_runs" ADD CONSTRAINT "schedule_runs_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_strategy_id_strategies_id_fk" FOREIGN KEY ("strategy_id") REFERENCES "public"."strategies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "schedule_runs_recent_idx" ON "schedule_runs" USING btree ("schedule_id","created_at");--> statement-breakpoint
CREATE INDEX "schedules_workspace_idx" ON "schedules" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "schedules_due_idx" ON "schedules" USING btree ("next_run_at") WHERE "schedules"."enabled" and "schedules"."next_run_at" is not null;--> statement-breakpoint
CREATE INDEX "executions_retry_of_idx" ON "executions" USING btree ("retry_of") WHERE "executions"."retry_of" is not null;--> statement-breakpoint
ALTER TABLE "executions" ADD CONSTRAINT "executions_trigger_check" CHECK (trigger in ('api', 'schedule', 'retry'));