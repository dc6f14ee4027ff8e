CREATE TABLE "strategy_versions" (
	"strategy_id" text NOT NULL,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"on_task_failure" text NOT NULL,
	"item_count" integer NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "strategy_versions_strategy_id_version_pk" PRIMARY KEY("strategy_id","version"),
	CONSTRAINT "strategy_versions_version_check" CHECK ("strategy_versions"."version" >= 1),
	CONSTRAINT "strategy_versions_on_task_failure_check" CHECK (on_task_failure in ('fail', 'continue'))
);
--> statement-breakpoint
DROP INDEX "strategy_items_strategy_idx";--> statement-breakpoint
DROP INDEX "strategy_items_key_unique";--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "strategy_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "archived_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "strategy_items" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "strategy_versions" ADD CONSTRAINT "strategy_versions_strategy_id_strategies_id_fk" FOREIGN KEY ("strategy_id") REFERENCES "public"."strategies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_versions" ADD CONSTRAINT "strategy_versions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "strategy_items_strategy_idx" ON "strategy_items" USING btree ("strategy_id","version","level","position");--> statement-breakpoint
CREATE UNIQUE INDEX "strategy_items_key_unique" ON "strategy_items" USING btree ("strategy_id","version","key") WHERE "strategy_items"."level" = 4;--> statement-breakpoint
ALTER TABLE "strategies" ADD CONSTRAINT "strategies_version_check" CHECK ("strategies"."version" >= 1);--> statement-breakpoint
-- Every strategy stored before versions existed becomes its own version 1, items and all.
INSERT INTO "strategy_versions" ("strategy_id", "version", "name", "description", "on_task_failure", "item_count", "created_by", "created_at")
SELECT s."id", 1, s."name", s."description", s."on_task_failure",
  (SELECT count(*)::int FROM "strategy_items" i WHERE i."strategy_id" = s."id" AND i."level" = 4), s."created_by", s."created_at"
FROM "strategies" s;
