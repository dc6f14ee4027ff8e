CREATE TABLE "stream_leases" (
	"id" text PRIMARY KEY NOT NULL,
	"credential" text NOT NULL,
	"user_id" text NOT NULL,
	"execution_id" text NOT NULL,
	"lease_expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "stream_leases_credential_idx" ON "stream_leases" USING btree ("credential","lease_expires_at");--> statement-breakpoint
CREATE INDEX "stream_leases_expires_idx" ON "stream_leases" USING btree ("lease_expires_at");