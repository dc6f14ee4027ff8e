CREATE TABLE "stream_counts" (
	"process_id" text NOT NULL,
	"credential" text NOT NULL,
	"open" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "stream_counts_process_id_credential_pk" PRIMARY KEY("process_id","credential")
);
--> statement-breakpoint
CREATE TABLE "stream_processes" (
	"id" text PRIMARY KEY NOT NULL,
	"lease_expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "stream_counts" ADD CONSTRAINT "stream_counts_process_id_stream_processes_id_fk" FOREIGN KEY ("process_id") REFERENCES "public"."stream_processes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stream_counts_credential_idx" ON "stream_counts" USING btree ("credential");--> statement-breakpoint
CREATE INDEX "stream_processes_expires_idx" ON "stream_processes" USING btree ("lease_expires_at");