CREATE TABLE "limit_starts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"task_id" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workspace_limits" (
	"workspace_id" text NOT NULL,
	"agent_type" text NOT NULL,
	"concurrency" integer,
	"per_minute" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspace_limits_workspace_id_agent_type_pk" PRIMARY KEY("workspace_id","agent_type"),
	CONSTRAINT "workspace_limits_values_check" CHECK (("workspace_limits"."concurrency" is null or "workspace_limits"."concurrency" > 0) and ("workspace_limits"."per_minute" is null or "workspace_limits"."per_minute" > 0))
);
--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "max_concurrency" integer;--> statement-breakpoint
ALTER TABLE "strategy_items" ADD COLUMN "concurrency_key" text;--> statement-breakpoint
ALTER TABLE "strategy_items" ADD COLUMN "key_concurrency" integer;--> statement-breakpoint
ALTER TABLE "strategy_items" ADD COLUMN "key_per_minute" integer;--> statement-breakpoint
ALTER TABLE "strategy_versions" ADD COLUMN "max_concurrency" integer;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "concurrency_key" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "key_concurrency" integer;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "key_per_minute" integer;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "throttle_scope" text;--> statement-breakpoint
ALTER TABLE "workspace_limits" ADD CONSTRAINT "workspace_limits_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "limit_starts_scope_idx" ON "limit_starts" USING btree ("scope","started_at");--> statement-breakpoint
CREATE INDEX "limit_starts_started_idx" ON "limit_starts" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "tasks_throttled_idx" ON "tasks" USING btree ("throttle_scope","queue_tag") WHERE "tasks"."throttle_scope" is not null;--> statement-breakpoint
ALTER TABLE "strategy_items" ADD CONSTRAINT "strategy_items_key_limits_check" CHECK (("strategy_items"."key_concurrency" is null or "strategy_items"."key_concurrency" > 0) and ("strategy_items"."key_per_minute" is null or "strategy_items"."key_per_minute" > 0));--> statement-breakpoint
ALTER TABLE "strategy_versions" ADD CONSTRAINT "strategy_versions_max_concurrency_check" CHECK ("strategy_versions"."max_concurrency" is null or "strategy_versions"."max_concurrency" > 0);