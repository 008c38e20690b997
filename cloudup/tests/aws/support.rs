//! Shared setup: AWS clients pointed at the emulator, in an account of the test's own.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::Credentials;
use berth_cloudup::aws::AwsClients;
use berth_test_support::moto::{MotoServer, REGION};

/// An SDK configuration for the shared emulator, in a fresh 12-digit account (the emulator
/// keys its state by the account of the credentials, which STS `AssumeRole` hands out), so
/// that tests running in parallel do not see each other's resources. SDK retries are off:
/// retrying is the engine's job, and tests must see every error.
pub(crate) async fn sdk_config() -> aws_config::SdkConfig {
    let moto = MotoServer::shared();
    let base = config(
        moto,
        Credentials::new("testing", "testing", None, None, "tests"),
    )
    .await;
    let account = format!("{:012}", fastrand::u64(100_000_000_000..999_999_999_999));
    let assumed = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/berth-test"))
        .role_session_name("berth-test")
        .send()
        .await
        .expect("AssumeRole on the emulator");
    let credentials = assumed.credentials().expect("assumed credentials");
    config(
        moto,
        Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            None,
            "assumed",
        ),
    )
    .await
}

async fn config(moto: &MotoServer, credentials: Credentials) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new(REGION))
        .credentials_provider(credentials)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

/// Clients for the emulator in a fresh account.
pub(crate) async fn clients() -> AwsClients {
    AwsClients::new(&sdk_config().await)
}

/// Clients for the emulator in a fresh account, twice: straight to the emulator, and through
/// the proxy at `proxy_endpoint` (same account, so both see the same resources).
pub(crate) async fn clients_direct_and_via(proxy_endpoint: &str) -> (AwsClients, AwsClients) {
    let direct = sdk_config().await;
    let via = direct.to_builder().endpoint_url(proxy_endpoint).build();
    (AwsClients::new(&direct), AwsClients::new(&via))
}
